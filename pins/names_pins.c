/* names_pins.c — the public enum-to-text functions never return NULL and
 * every listed code has its own text. */
#include "pin.h"

#include <string.h>
#include <vnat/vnat.h>

PIN(strerror_knows_every_error_and_unknown_codes)
{
    assert_string_equal(vnat_strerror(VNAT_OK), "success");
    assert_string_equal(vnat_strerror(VNAT_E_NOMEM),
                        "memory given is too small (see vnat_memory_size)");
    assert_string_equal(vnat_strerror(12345), "unknown error");
}

PIN(reason_names_are_distinct_and_bounded)
{
    for (int i = 0; i < VNAT_DROP__COUNT; i++)
        for (int j = i + 1; j < VNAT_DROP__COUNT; j++)
            assert_string_not_equal(vnat_drop_reason_name(i), vnat_drop_reason_name(j));
    assert_string_equal(vnat_drop_reason_name(VNAT_DROP__COUNT), "unknown");
    assert_string_equal(vnat_rst_reason_name(-1), "unknown");
    assert_string_equal(vnat_tcp_state_name(VNAT_TCP_ESTABLISHED), "established");
    assert_string_equal(vnat_op_name(VNAT_OP_PEEK), "peek");
}

PIN(ip4_helper_zero_pads)
{
    struct vnat_ip a = vnat_ip4(10, 0, 2, 2);
    struct vnat_ip b;
    memset(&b, 0, sizeof b);
    b.family = VNAT_AF_INET;
    b.addr[0] = 10;
    b.addr[2] = 2;
    b.addr[3] = 2;
    assert_memory_equal(&a, &b, sizeof a);
}

PIN_MAIN(cmocka_unit_test(strerror_knows_every_error_and_unknown_codes),
         cmocka_unit_test(reason_names_are_distinct_and_bounded),
         cmocka_unit_test(ip4_helper_zero_pads))
