#!/usr/bin/env bash
# Urgent data (MSG_OOB, issue 14 item 3). vnat carries TCP as a byte stream
# and no urgent semantics: the guest's urgent byte reaches the host inline,
# in order, and the host's urgent byte reaches the guest inline, in order
# (every host socket has SO_OOBINLINE; without it the kernel keeps that byte
# out of the stream and the guest never gets it). Neither side sees URG.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
start_helper PORT urgent
out=$("$VNAT" run -- timeout 10 python3 "$HERE/helpers.py" urgent-ask 10.0.2.2 "$PORT") \
    || fail "no answer through vnat"
[ "$out" = "got:xyz|abcde" ] || fail "got '$out', want 'got:xyz|abcde' (urgent bytes inline, in order)"
pass "urgent bytes both ways arrive inline and in order"
