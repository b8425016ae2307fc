/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The little the shared datapath code needs from a program's context, so
 * one body serves tc (struct __sk_buff) and XDP (struct xdp_md).
 */
#ifndef PW_BPF_CTX_H
#define PW_BPF_CTX_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef READ_ONCE
#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#endif

struct pw_ctx {
	void *raw; /* the program's context (struct __sk_buff / xdp_md) */
	void *data;
	void *data_end;
	__u32 len; /* wire length of the packet */
	__u32 ifindex; /* device the hook runs on */
	__u8 hook; /* PW_HOOK_* */
};

/* Outcome of the shared code; the entry point maps it to TC_ACT_ or XDP_. */
#define PW_PASS 0
#define PW_DROP 1

/* Bytes of headers the parser may need in the linear area of an skb. */
#define PW_PULL_LEN 256

#define PW_NS 1000000000ull

static __always_inline void pw_ctx_from_skb(struct pw_ctx *c, struct __sk_buff *skb, __u8 hook)
{
	__u32 lin = skb->data_end - skb->data;

	/* Headers of a non-linear skb may sit in fragments: pull what the
	 * parser can look at (a no-op for the common fully linear skb). */
	if (lin < skb->len && lin < PW_PULL_LEN)
		bpf_skb_pull_data(skb, skb->len < PW_PULL_LEN ? skb->len : PW_PULL_LEN);
	c->raw = skb;
	c->data = (void *)(long)skb->data;
	c->data_end = (void *)(long)skb->data_end;
	c->len = skb->len;
	c->ifindex = skb->ifindex;
	c->hook = hook;
}

static __always_inline void pw_ctx_from_xdp(struct pw_ctx *c, struct xdp_md *xdp, __u8 hook)
{
	c->raw = xdp;
	c->data = (void *)(long)xdp->data;
	c->data_end = (void *)(long)xdp->data_end;
	c->len = xdp->data_end - xdp->data;
	c->ifindex = xdp->ingress_ifindex;
	c->hook = hook;
}

#endif
