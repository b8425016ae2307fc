// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall tc programs, attached with clsact to the host side of each pod
 * veth (pw_from_pod on ingress, pw_to_pod on egress) and to the uplink or
 * overlay devices (pw_uplink_egress on egress).  The logic is in lib/hooks.h.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "lib/hooks.h"

static __always_inline int pw_tc_verdict(int v)
{
	return v == PW_DROP ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int pw_from_pod(struct __sk_buff *skb)
{
	struct pw_ctx c;

	pw_ctx_from_skb(&c, skb, PW_HOOK_FROM_POD);
	return pw_tc_verdict(pw_pod_hook(&c));
}

SEC("tc")
int pw_to_pod(struct __sk_buff *skb)
{
	struct pw_ctx c;

	pw_ctx_from_skb(&c, skb, PW_HOOK_TO_POD);
	return pw_tc_verdict(pw_pod_hook(&c));
}

SEC("tc")
int pw_uplink_egress(struct __sk_buff *skb)
{
	struct pw_ctx c;

	pw_ctx_from_skb(&c, skb, PW_HOOK_UPLINK);
	return pw_tc_verdict(pw_uplink_hook(&c));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
