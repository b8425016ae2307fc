// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * podwall XDP programs: pw_xdp_from_pod makes on the host veth the same
 * decision as the tc pw_from_pod (what the pod sends); pw_xdp_uplink is the
 * uplink prefilter.  The logic is in lib/hooks.h.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#define PW_CTX_XDP 1
#include "lib/hooks.h"

SEC("xdp")
int pw_xdp_from_pod(struct xdp_md *xdp)
{
	struct pw_ctx c;

	pw_ctx_from_xdp(&c, xdp, PW_HOOK_FROM_POD);
	return pw_pod_hook(&c) == PW_DROP ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int pw_xdp_uplink(struct xdp_md *xdp)
{
	struct pw_ctx c;

	pw_ctx_from_xdp(&c, xdp, PW_HOOK_UPLINK);
	return pw_xdp_prefilter(&c) == PW_DROP ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
