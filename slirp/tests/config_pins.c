/*
 * config_pins.c — SlirpConfig onto vnat_config (slirp/config.c), without a
 * host: QEMU's defaults, every field that maps, every version's own fields
 * read only from that version on, each bad configuration refused with its
 * message, the resolver lists, and the `info usernet` table.
 */
#include "pin.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct in_addr a4(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a;
}

/* What QEMU 7.2 passes for a plain `-netdev user` (net/slirp.c). */
static SlirpConfig qemu_default(void)
{
    SlirpConfig c;
    memset(&c, 0, sizeof c);
    c.version = 4;
    c.in_enabled = true;
    c.vnetwork = a4("10.0.2.0");
    c.vnetmask = a4("255.255.255.0");
    c.vhost = a4("10.0.2.2");
    c.vdhcp_start = a4("10.0.2.15");
    c.vnameserver = a4("10.0.2.3");
    c.in6_enabled = true;
    inet_pton(AF_INET6, "fec0::", &c.vprefix_addr6);
    c.vprefix_len = 64;
    inet_pton(AF_INET6, "fec0::2", &c.vhost6);
    inet_pton(AF_INET6, "fec0::3", &c.vnameserver6);
    return c;
}

static void ip_is(const struct vnat_ip *ip, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct vnat_ip want = vnat_ip4(a, b, c, d);
    assert_memory_equal(ip, &want, sizeof want);
}

/* The configuration must be refused, with a message containing `needle`. */
static void refused(const SlirpConfig *c, const char *needle)
{
    struct vs_config out;
    char why[256] = "untouched";
    assert_int_equal(vs_config_map(c, &out, why, sizeof why), -1);
    if (strstr(why, needle) == NULL)
        fail_msg("message '%s' does not mention '%s'", why, needle);
}

static struct vs_config accepted(const SlirpConfig *c)
{
    struct vs_config out;
    char why[256] = "";
    if (vs_config_map(c, &out, why, sizeof why) != 0)
        fail_msg("refused: %s", why);
    return out;
}

PIN(qemu_defaults_map_to_the_core_addresses)
{
    SlirpConfig c = qemu_default();
    struct vs_config o = accepted(&c);
    ip_is(&o.cfg.gateway_ip, 10, 0, 2, 2);
    ip_is(&o.cfg.dns_ip, 10, 0, 2, 3);
    ip_is(&o.cfg.guest_ip, 10, 0, 2, 15);
    ip_is(&o.network, 10, 0, 2, 0);
    assert_int_equal(o.cfg.prefix_len, 24);
    assert_int_equal(o.cfg.mtu, 1500);
    assert_int_equal(o.cfg.flags, VNAT_F_DHCP | VNAT_F_GATEWAY_IS_LOOPBACK);
    assert_int_equal(o.cfg.n_rules, 0);
    assert_false(o.dns_disabled);
    assert_false(o.outbound_addr_given);
}

PIN(other_network_and_dhcp_start_are_honoured)
{
    SlirpConfig c = qemu_default();
    c.vnetwork = a4("192.168.76.0");
    c.vnetmask = a4("255.255.252.0");
    c.vhost = a4("192.168.77.1");
    c.vnameserver = a4("192.168.77.2");
    c.vdhcp_start = a4("192.168.78.9");
    struct vs_config o = accepted(&c);
    assert_int_equal(o.cfg.prefix_len, 22);
    ip_is(&o.cfg.gateway_ip, 192, 168, 77, 1);
    ip_is(&o.cfg.dns_ip, 192, 168, 77, 2);
    ip_is(&o.cfg.guest_ip, 192, 168, 78, 9);
}

PIN(every_config_version_is_accepted_and_others_refused)
{
    for (uint32_t v = SLIRP_CONFIG_VERSION_MIN; v <= SLIRP_CONFIG_VERSION_MAX; v++) {
        SlirpConfig c = qemu_default();
        c.version = v;
        (void)accepted(&c);
    }
    SlirpConfig c = qemu_default();
    c.version = 0;
    refused(&c, "version 0");
    c.version = SLIRP_CONFIG_VERSION_MAX + 1;
    refused(&c, "version 5");
    refused(NULL, "no configuration");
}

PIN(netmask_with_holes_is_refused)
{
    SlirpConfig c = qemu_default();
    c.vnetmask = a4("255.0.255.0");
    refused(&c, "netmask 255.0.255.0 has holes");
}

PIN(netmask_too_long_or_empty_is_refused)
{
    SlirpConfig c = qemu_default();
    c.vnetmask = a4("255.255.255.254");
    refused(&c, "/31");
    c.vnetmask = a4("0.0.0.0");
    refused(&c, "/0");
}

PIN(network_with_host_bits_is_refused)
{
    SlirpConfig c = qemu_default();
    c.vnetwork = a4("10.0.2.1");
    refused(&c, "network 10.0.2.1 has bits set outside netmask 255.255.255.0");
}

PIN(host_outside_the_network_is_refused)
{
    SlirpConfig c = qemu_default();
    c.vhost = a4("10.0.3.2");
    refused(&c, "host address 10.0.3.2 is outside the network 10.0.2.0/24");
    c.vhost = a4("10.0.2.0");
    refused(&c, "host address 10.0.2.0 is the network address");
    c.vhost = a4("10.0.2.255");
    refused(&c, "host address 10.0.2.255 is the broadcast address");
}

PIN(dns_equal_to_host_or_outside_is_refused)
{
    SlirpConfig c = qemu_default();
    c.vnameserver = a4("10.0.2.2");
    refused(&c, "DNS address 10.0.2.2 is the host address");
    c.vnameserver = a4("8.8.8.8");
    refused(&c, "DNS address 8.8.8.8 is outside the network");
}

PIN(dhcp_start_must_be_a_free_member_of_the_network)
{
    SlirpConfig c = qemu_default();
    c.vdhcp_start = a4("10.0.2.2");
    refused(&c, "DHCP start 10.0.2.2 is the host address");
    c.vdhcp_start = a4("10.0.2.3");
    refused(&c, "DHCP start 10.0.2.3 is the DNS address");
    c.vdhcp_start = a4("10.9.2.15");
    refused(&c, "DHCP start 10.9.2.15 is outside the network");
}

PIN(restricted_is_one_deny_all_egress_rule)
{
    SlirpConfig c = qemu_default();
    c.restricted = 1;
    struct vs_config o;
    char why[128];
    assert_int_equal(vs_config_map(&c, &o, why, sizeof why), 0);
    assert_int_equal(o.cfg.n_rules, 1);
    assert_ptr_equal(o.cfg.rules, &o.deny_all);
    assert_int_equal(o.deny_all.action, VNAT_RULE_DENY);
    assert_int_equal(o.deny_all.proto, VNAT_PROTO_ANY);
    assert_int_equal(o.deny_all.prefix, 0);
    assert_int_equal(o.deny_all.port_lo, 0);
    assert_int_equal(o.deny_all.port_hi, 65535);
}

PIN(disable_host_loopback_drops_the_gateway_mapping)
{
    SlirpConfig c = qemu_default();
    c.disable_host_loopback = true;
    struct vs_config o = accepted(&c);
    assert_int_equal(o.cfg.flags & VNAT_F_GATEWAY_IS_LOOPBACK, 0);
    assert_int_not_equal(o.cfg.flags & VNAT_F_DHCP, 0);
}

PIN(disable_dhcp_and_dns_are_read_only_from_their_versions)
{
    SlirpConfig c = qemu_default();
    c.disable_dhcp = true;
    c.disable_dns = true;
    struct vs_config o = accepted(&c);
    assert_int_equal(o.cfg.flags & VNAT_F_DHCP, 0);
    assert_true(o.dns_disabled);
    assert_int_equal(o.cfg.n_dns_servers, 0);
    c.version = 3; /* disable_dhcp is a version-4 field: not there, not read */
    o = accepted(&c);
    assert_int_not_equal(o.cfg.flags & VNAT_F_DHCP, 0);
    assert_true(o.dns_disabled);
    c.version = 2; /* disable_dns is a version-3 field */
    o = accepted(&c);
    assert_false(o.dns_disabled);
}

PIN(mtu_and_mru_are_checked)
{
    SlirpConfig c = qemu_default();
    c.if_mtu = 65520;
    c.if_mru = 65520;
    assert_int_equal(accepted(&c).cfg.mtu, 65520);
    c.if_mtu = 100;
    refused(&c, "if_mtu 100 is outside 576..65521");
    c.if_mtu = 70000;
    refused(&c, "if_mtu 70000");
    c.if_mtu = 0;
    c.if_mru = 10;
    refused(&c, "if_mru 10");
}

PIN(ipv6_settings_never_fail)
{
    SlirpConfig c = qemu_default();
    c.vprefix_len = 200; /* nonsense, but IPv6 is not served yet: ignored */
    memset(&c.vhost6, 0xff, sizeof c.vhost6);
    (void)accepted(&c);
    c.in6_enabled = false;
    (void)accepted(&c);
    struct sockaddr_in6 out6 = {.sin6_family = AF_INET6};
    c.outbound_addr6 = &out6;
    (void)accepted(&c);
}

PIN(ipv4_off_tftp_and_bootfile_are_refused_with_a_reason)
{
    SlirpConfig c = qemu_default();
    c.in_enabled = false;
    refused(&c, "IPv4 disabled");
    c = qemu_default();
    c.tftp_path = "/srv/tftp";
    refused(&c, "TFTP (tftp=/srv/tftp) is not supported");
    c = qemu_default();
    c.bootfile = "pxelinux.0";
    refused(&c, "bootfile (pxelinux.0) is not supported");
}

PIN(outbound_addr_is_accepted_from_version_2_only_if_ipv4)
{
    SlirpConfig c = qemu_default();
    struct sockaddr_in out4 = {.sin_family = AF_INET};
    c.outbound_addr = &out4;
    assert_true(accepted(&c).outbound_addr_given);
    c.version = 1; /* not a version-1 field: never read */
    assert_false(accepted(&c).outbound_addr_given);
    c.version = 2;
    out4.sin_family = AF_INET6;
    refused(&c, "outbound_addr is not an IPv4 address");
}

PIN(names_are_checked_and_accepted)
{
    SlirpConfig c = qemu_default();
    static const char *search[] = {"example.org", NULL};
    c.vhostname = "guest";
    c.vdomainname = "example.org";
    c.vdnssearch = search;
    (void)accepted(&c);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    c.vhostname = longname;
    refused(&c, "vhostname is longer than 255 bytes");
    c.vhostname = NULL;
    c.vdomainname = "";
    refused(&c, "vdomainname is empty");
}

PIN(dns_server_list_parses_and_refuses_garbage)
{
    struct vnat_config cfg;
    vnat_config_init(&cfg);
    char why[128];
    assert_int_equal(vs_dns_list_parse("127.0.0.1:5353,192.0.2.1", &cfg, why, sizeof why), 2);
    ip_is(&cfg.dns_servers[0].ip, 127, 0, 0, 1);
    assert_int_equal(cfg.dns_servers[0].port, 5353);
    ip_is(&cfg.dns_servers[1].ip, 192, 0, 2, 1);
    assert_int_equal(cfg.dns_servers[1].port, 53);
    assert_int_equal(vs_dns_list_parse("127.0.0.1:0", &cfg, why, sizeof why), -1);
    assert_non_null(strstr(why, "bad entry '127.0.0.1:0'"));
    assert_int_equal(vs_dns_list_parse("resolver", &cfg, why, sizeof why), -1);
    assert_int_equal(
        vs_dns_list_parse("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5", &cfg, why, sizeof why),
        VNAT_MAX_DNS_SERVERS);
}

PIN(resolv_conf_gives_ipv4_nameservers_in_order)
{
    struct vnat_config cfg;
    vnat_config_init(&cfg);
    const char *text = "# generated\n"
                       "search example.org\n"
                       "nameserver 2001:db8::1\n"
                       "nameserver\t192.0.2.53 # first IPv4\n"
                       "  nameserver 198.51.100.7\r\n"
                       "nameservers 203.0.113.1\n"
                       "nameserver 999.1.1.1\n"
                       "nameserver 203.0.113.9";
    assert_int_equal(vs_resolv_conf_parse(text, &cfg), 3);
    ip_is(&cfg.dns_servers[0].ip, 192, 0, 2, 53);
    ip_is(&cfg.dns_servers[1].ip, 198, 51, 100, 7);
    ip_is(&cfg.dns_servers[2].ip, 203, 0, 113, 9);
    assert_int_equal(cfg.dns_servers[2].port, 53);
    assert_int_equal(vs_resolv_conf_parse("", &cfg), 0);
}

static int fd_seven(void *ctx, vnat_token tok)
{
    (void)ctx;
    return tok == 0x300000002ull ? 7 : -1;
}

PIN(connection_table_has_qemus_columns)
{
    struct vs_fwd_row fwd = {.proto = VNAT_PROTO_TCP,
                             .fd = 5,
                             .host = {.ip = vnat_ip4(127, 0, 0, 1), .port = 2222},
                             .guest = vnat_ip4(10, 0, 2, 15),
                             .guest_port = 22};
    const char *dump = "flows 2/4096 now=5\n"
                       "#2 tcp 10.0.2.15:40000 -> 10.0.2.2:80 tok=0x300000002 state=established "
                       "iss=1 snd_una=100 snd_nxt=1600 snd_wnd=2 irs=3 rcv_nxt=4 flags=0x0\n"
                       "#3 udp 10.0.2.15:5000 -> 10.0.2.3:53 tok=0x100000003 flags=0x0\n";
    char *t = vs_connection_table(&fwd, 1, dump, fd_seven, NULL);
    assert_non_null(t);
    const char *want = "  Protocol[State]      FD  Source Address  Port   Dest. Address  Port "
                       "RecvQ SendQ\n"
                       "  TCP[HOST_FORWARD]     5       127.0.0.1  2222       10.0.2.15    22 "
                       "    0     0\n"
                       "  TCP[ESTABLISHED]      7       10.0.2.15 40000        10.0.2.2    80 "
                       " 1500     0\n"
                       "  UDP[flow]            -1       10.0.2.15  5000        10.0.2.3    53 "
                       "    0     0\n";
    assert_string_equal(t, want);
    free(t);
}

PIN_MAIN(cmocka_unit_test(qemu_defaults_map_to_the_core_addresses),
         cmocka_unit_test(other_network_and_dhcp_start_are_honoured),
         cmocka_unit_test(every_config_version_is_accepted_and_others_refused),
         cmocka_unit_test(netmask_with_holes_is_refused),
         cmocka_unit_test(netmask_too_long_or_empty_is_refused),
         cmocka_unit_test(network_with_host_bits_is_refused),
         cmocka_unit_test(host_outside_the_network_is_refused),
         cmocka_unit_test(dns_equal_to_host_or_outside_is_refused),
         cmocka_unit_test(dhcp_start_must_be_a_free_member_of_the_network),
         cmocka_unit_test(restricted_is_one_deny_all_egress_rule),
         cmocka_unit_test(disable_host_loopback_drops_the_gateway_mapping),
         cmocka_unit_test(disable_dhcp_and_dns_are_read_only_from_their_versions),
         cmocka_unit_test(mtu_and_mru_are_checked), cmocka_unit_test(ipv6_settings_never_fail),
         cmocka_unit_test(ipv4_off_tftp_and_bootfile_are_refused_with_a_reason),
         cmocka_unit_test(outbound_addr_is_accepted_from_version_2_only_if_ipv4),
         cmocka_unit_test(names_are_checked_and_accepted),
         cmocka_unit_test(dns_server_list_parses_and_refuses_garbage),
         cmocka_unit_test(resolv_conf_gives_ipv4_nameservers_in_order),
         cmocka_unit_test(connection_table_has_qemus_columns))
