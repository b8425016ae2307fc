/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * podwall datapath ABI: the keys and values of every BPF map, shared by the
 * BPF programs (bpf/) and user space (daemon/, ctl/).
 *
 * Rules for changing this file:
 *  - A map's layout is versioned by its name (pw_ep_v1, ...).  A layout
 *    change is a new name, never a silent reinterpretation of pinned bytes.
 *    PW_ABI_VERSION changes when a map the writer fills changes meaning
 *    (pinned maps of another version are refused without --migrate); a map
 *    that only the datapath writes (counters) may get a new name alone: the
 *    loader removes the retired name's pin (loader.c, retired_pins) and the
 *    counters restart from zero, while the policy and conntrack survive.
 *    The daemon refuses pinned maps whose key/value sizes differ from what
 *    it was built with.
 *  - Addresses: one layout for both families.  IPv4 is stored as an
 *    IPv4-mapped IPv6 address (::ffff:a.b.c.d); prefix lengths are in that
 *    128-bit space (an IPv4 /24 is a /120).
 *  - Ports are in host byte order in every key and value.
 *
 * Atomic policy swap (double buffering).  Every policy map (ep, if, peer,
 * pol, range) carries a `slot` (0 or 1) in its key.  `pw_state_v1.epoch` is
 * the policy generation; the slot in force is `epoch & 1`.  A program reads
 * the epoch once per packet and uses that slot for every lookup, so a packet
 * sees all of one generation.  The writer fills the inactive slot, publishes
 * the new epoch with one atomic 8-byte store (the state map is mmap-able),
 * then waits for an RCU grace period (an update of a map-in-map does
 * synchronize_rcu()) before it may touch the now-inactive slot again.
 *
 * Policy decision for a new flow, at a local endpoint `ep`, direction `dir`
 * (see decide.h, which is shared by the BPF programs and the user-space
 * evaluator):
 *  1. set = ep->set_id[dir]; set == 0 means not isolated: allow.
 *  2. The peer's identity: pw_ep_v1[peer address] (known pod or node
 *     address), else pw_peer_v1 longest prefix (ipBlock partition), else
 *     PW_ID_WORLD.  PW_ID_HOST (the node) is always allowed.
 *  3. For id in (peer identity, PW_ID_ANY), skipping lookups the set's hint
 *     flags say cannot hit:
 *       a. pw_pol_v1 {set, id, dir, proto, port}     exact port
 *       b. pw_pol_v1 {set, id, dir, proto, 0}        any port of proto
 *                                                    (skipped with the set's
 *                                                    PW_SET_NO_PORT0_<proto>)
 *       c. pw_range_v1 {set, id, dir, proto, 0}      port ranges (endPort),
 *                                                    linear scan, bounded
 *     The first hit allows and names the rule.  When the set's port
 *     summary (PW_SET_PORT_BLOOM) shows that no entry can exist for the
 *     protocol and port, step 3 is skipped, and on the ingress side the
 *     peer's identity is not looked up either: only whether it is one of
 *     the node's addresses (pw_host_v1) matters.
 *  4. No hit: deny (PW_DROP_POLICY).
 * proto is the IP protocol for TCP, UDP and SCTP; every other protocol
 * (ICMP, ...) is looked up as PW_PROTO_OTHER with port 0, which only a rule
 * without `ports` matches.  A rule without `ports` compiles to port-0
 * entries for TCP, UDP, SCTP and OTHER.
 *
 * At most 6 hash lookups and 2 bounded scans decide a direction, whatever
 * the number of pods, policies and rules.
 */
#ifndef PODWALL_ABI_H
#define PODWALL_ABI_H

#include <linux/types.h>
#include "podwall/drop_reasons.h"

#define PW_ABI_VERSION 1

/* ---- limits (max_entries; the daemon may lower them before load) ---- */
#define PW_MAX_ENDPOINTS 65536 /* pod and node addresses, both slots */
#define PW_MAX_IFACES 2048 /* enforced interfaces, both slots */
#define PW_MAX_PREFIXES 65536 /* ipBlock partition prefixes, both slots */
#define PW_MAX_POLICY_ENTRIES 262144 /* pw_pol_v1 entries, both slots */
#define PW_MAX_RANGE_ENTRIES 16384 /* pw_range_v1 entries, both slots */
#define PW_MAX_RANGES 16 /* port ranges in one pw_range_v1 value */
#define PW_MAX_CT 262144 /* conntrack entries (two per flow) */
#define PW_MAX_FRAGS 8192 /* datagrams being reassembled */
#define PW_MAX_LOCAL_EPS 512 /* counter slots: local endpoints (ep_id) */
#define PW_MAX_RULES 16384 /* rule ids (per-rule counters) */
#define PW_EVENTS_BYTES (1 << 20) /* ring buffer size */

/* ---- identities ---- */
#define PW_ID_NONE 0u /* never a valid identity */
#define PW_ID_WORLD 1u /* an address no pod and no ipBlock claims */
#define PW_ID_HOST 2u /* the node itself: always allowed */
#define PW_ID_FIRST_DYNAMIC 16u /* compiler-assigned identities start here */
#define PW_ID_ANY 0xffffffffu /* wildcard peer in pw_pol_v1/pw_range_v1 keys */

#define PW_RULE_NONE 0u /* no rule (implicit decision) */

/* ---- directions and hooks ---- */
#define PW_DIR_INGRESS 0 /* traffic delivered to the pod */
#define PW_DIR_EGRESS 1 /* traffic the pod sends */

#define PW_HOOK_FROM_POD 0 /* host-veth tc ingress / XDP: the pod sent it */
#define PW_HOOK_TO_POD 1 /* host-veth tc egress: delivered to the pod */
#define PW_HOOK_UPLINK 2 /* uplink/overlay device: deferred egress decisions */

#define PW_PROTO_ICMP 1
#define PW_PROTO_TCP 6
#define PW_PROTO_UDP 17
#define PW_PROTO_ICMPV6 58
#define PW_PROTO_SCTP 132
#define PW_PROTO_OTHER 255 /* any protocol but TCP/UDP/SCTP, in policy keys */

union pw_addr {
	__u8 b[16];
	__u32 w[4];
};

/* ---------------------------------------------------------------------
 * pw_state_v1: ARRAY[1], BPF_F_MMAPABLE.  Written by the daemon only.
 */
#define PW_STATE_AUDIT (1u << 0) /* global audit mode: drops become audits */
#define PW_STATE_LOG_ALLOW (1u << 1) /* emit an event for each new allowed flow */
/* a policy has been written; before that every packet passes (not isolated) */
#define PW_STATE_ENFORCING (1u << 2)

struct pw_state {
	__u64 epoch; /* policy generation; slot = epoch & 1 (atomic 8-byte store) */
	__u32 abi_version; /* PW_ABI_VERSION of the writer */
	__u32 flags; /* PW_STATE_* */
	__u32 events_per_sec; /* per-CPU event rate limit (tokens per second) */
	__u32 events_burst; /* per-CPU token bucket depth */
	__u64 reserved[4];
};

/* ---------------------------------------------------------------------
 * pw_ep_v1: HASH, every known pod address (local and remote) and every
 * address of the node.  pw_if_v1: HASH, enforced interface -> its pod's
 * primary endpoint value (for packets to an address that is not the pod's).
 */
#define PW_EP_LOCAL (1u << 0) /* the pod's veth is on this node (ifindex valid) */
#define PW_EP_HOST (1u << 1) /* an address of the node itself */
#define PW_EP_AUDIT_IN (1u << 2) /* ingress isolation comes only from audit policies */
#define PW_EP_AUDIT_OUT (1u << 3) /* egress isolation comes only from audit policies */

/* set_flags hints: which lookups of step 3 can hit for this policy set */
#define PW_SET_PEER (1u << 0) /* entries keyed by specific peer identities */
#define PW_SET_ANY (1u << 1) /* entries keyed by PW_ID_ANY */
#define PW_SET_RANGES (1u << 2) /* pw_range_v1 entries exist */
/* No pw_pol_v1 entry with port 0 (every port) for this protocol class, for
 * any peer: step 3b is skipped.  Negative hints, so a writer that does not
 * know them (bit clear) only costs a lookup, never a wrong answer. */
#define PW_SET_NO_PORT0_TCP (1u << 3)
#define PW_SET_NO_PORT0_UDP (1u << 4)
#define PW_SET_NO_PORT0_SCTP (1u << 5)
#define PW_SET_NO_PORT0_OTHER (1u << 6)
#define PW_SET_NO_PORT0_ALL \
	(PW_SET_NO_PORT0_TCP | PW_SET_NO_PORT0_UDP | PW_SET_NO_PORT0_SCTP | PW_SET_NO_PORT0_OTHER)
/*
 * Port summary (positive hint: a writer that does not know it leaves it
 * clear and loses nothing but speed).  With PW_SET_PORT_BLOOM, bits
 * PW_SET_BLOOM_SHIFT..31 of set_flags are a one-hash Bloom filter of the
 * (protocol class, port) pairs of every exact-port pw_pol_v1 entry of the
 * set, for any peer: a TCP/UDP/SCTP port whose bit is clear has no exact
 * entry, so when the set also has no port-0 entry for the protocol and no
 * ranges, no peer can be allowed and step 3 is skipped whole (decide.h,
 * pw_ports_impossible()).  Bits of other pairs may be set too (false
 * positives only cost the lookups).
 */
#define PW_SET_PORT_BLOOM (1u << 7)
#define PW_SET_BLOOM_SHIFT 8
#define PW_SET_BLOOM_BITS 24
#define PW_SET_BLOOM_MASK 0xffffff00u

/* The summary bit of (protocol class, port): multiplicative hash, top bits
 * scaled onto the 24 bloom bits. */
static __inline __u32 pw_port_bloom_bit(__u8 proto_class, __u16 port)
{
	__u32 h = ((__u32)port | ((__u32)proto_class << 16)) * 2654435761u;

	return 1u << (PW_SET_BLOOM_SHIFT + (((h >> 16) * PW_SET_BLOOM_BITS) >> 16));
}

struct pw_ep_key {
	__u32 slot;
	union pw_addr addr;
};

struct pw_endpoint {
	__u32 identity; /* peer identity of this address */
	__u32 ifindex; /* host-side veth (local endpoints), else 0 */
	__u32 flags; /* PW_EP_* */
	__u32 ep_id; /* counter slot (local endpoints, 1..), else 0 */
	__u32 set_id[2]; /* policy set per PW_DIR_*; 0 = not isolated */
	__u32 set_flags[2]; /* PW_SET_* hints per PW_DIR_* */
};

struct pw_if_key {
	__u32 slot;
	__u32 ifindex;
};
/* value: struct pw_endpoint */

/* ---------------------------------------------------------------------
 * pw_host_v1: ARRAY[2], indexed by slot.  What a peer address must be
 * checked against when the port summary has already decided that no peer
 * identity could be allowed: the node's own addresses (identity PW_ID_HOST
 * in pw_ep_v1: always allowed) and, for egress, the service prefixes
 * (PW_PEER_DEFER in pw_peer_v1: a denial there is deferred).  Read without
 * a hash lookup.  Each list is used only when marked complete:
 *  PW_HOSTS_COMPLETE        addr[0..n) is every PW_EP_HOST address of the slot
 *  PW_HOSTS_DEFER_COMPLETE  defer[0..n_defer) is every PW_PEER_DEFER prefix
 */
#define PW_MAX_HOST_ADDRS 16
#define PW_MAX_DEFER_PREFIXES 4
#define PW_HOSTS_COMPLETE (1u << 0)
#define PW_HOSTS_DEFER_COMPLETE (1u << 1)

struct pw_prefix_mask {
	union pw_addr addr; /* masked */
	union pw_addr mask;
};

struct pw_hosts {
	__u32 n; /* used entries of addr[] */
	__u32 flags; /* PW_HOSTS_* */
	union pw_addr addr[PW_MAX_HOST_ADDRS];
	__u32 n_defer; /* used entries of defer[] */
	__u32 pad;
	struct pw_prefix_mask defer[PW_MAX_DEFER_PREFIXES];
};

/* ---------------------------------------------------------------------
 * pw_peer_v1: LPM_TRIE (BPF_F_NO_PREALLOC).  The ipBlock partition: disjoint
 * prefixes, each with the identity of the addresses in it.  prefixlen counts
 * the bits after the prefixlen field: 32 (slot) + the address prefix length.
 */
/* service range: defer a denied egress decision to where DNAT's result is visible */
#define PW_PEER_DEFER (1u << 0)

struct pw_peer_key {
	__u32 prefixlen;
	__u32 slot;
	union pw_addr addr;
};

struct pw_peer_val {
	__u32 identity;
	__u32 flags; /* PW_PEER_* */
};

/* ---------------------------------------------------------------------
 * pw_pol_v1: HASH.  pw_range_v1: HASH with the same key (port = 0).
 */
struct pw_pol_key {
	__u32 slot;
	__u32 set_id;
	__u32 peer_id; /* identity or PW_ID_ANY */
	__u8 dir; /* PW_DIR_* */
	__u8 proto; /* PW_PROTO_TCP/UDP/SCTP/OTHER */
	__u16 port; /* destination port; 0 = every port */
};

struct pw_pol_val {
	__u32 rule_id; /* deciding rule (see the rule table in user space) */
	__u32 flags; /* reserved, 0 */
};

struct pw_port_range {
	__u16 lo; /* inclusive */
	__u16 hi; /* inclusive */
	__u32 rule_id;
};

struct pw_range_val {
	__u32 n; /* used entries of r[] */
	__u32 pad;
	struct pw_port_range r[PW_MAX_RANGES];
};

/* ---------------------------------------------------------------------
 * pw_ct_v1: LRU_HASH.  Each flow has two entries created together: the
 * original direction (PW_CT_ORIG) and the reply direction (PW_CT_REPLY),
 * each keyed by the tuple as it appears on the wire and by the hook that
 * sees it, so one lookup classifies any packet.  Entries are per hook: the
 * decision at the source pod's veth (its egress) and at the destination
 * pod's veth (its ingress) are separate entries.
 */
#define PW_CT_ORIG 0
#define PW_CT_REPLY 1

#define PW_CT_F_DEFERRED (1u << 0) /* egress passed undecided (service address) */
#define PW_CT_F_AUDIT (1u << 1) /* passed only because of audit mode */
/* TO_POD entry that also decided the (local) source's egress */
#define PW_CT_F_EGRESS_TOO (1u << 2)
#define PW_CT_F_CLOSING (1u << 3) /* TCP FIN or RST seen: short timeout */
#define PW_CT_F_SEEN_REPLY (1u << 4) /* a reply was seen */

struct pw_ct_key {
	union pw_addr src;
	union pw_addr dst;
	__u16 sport; /* ICMP echo: identifier in both ports */
	__u16 dport;
	__u8 proto; /* IP protocol number */
	__u8 hook; /* PW_HOOK_* */
	__u16 pad;
};

struct pw_ct_val {
	__u64 created_ns;
	__u64 last_seen_ns;
	__u32 gen; /* low 32 bits of the epoch it was decided under */
	__u32 rule_id; /* rule that allowed it (PW_RULE_NONE if implicit) */
	__u32 rule_id2; /* egress rule when PW_CT_F_EGRESS_TOO */
	__u32 ep_id; /* local endpoint's counter slot */
	__u8 dir; /* PW_CT_ORIG / PW_CT_REPLY */
	__u8 policy_dir; /* PW_DIR_* of the decision (local endpoint's view) */
	__u8 flags; /* PW_CT_F_* */
	__u8 reason; /* allow reason of the decision */
	__u32 pad;
};

/* ---------------------------------------------------------------------
 * pw_frag_v1: LRU_HASH.  The first fragment of a datagram carries the L4
 * header and is decided like any packet; when it passes, its id is
 * remembered so later fragments of the same datagram pass too.  A non-first
 * fragment that arrives first, or whose first fragment was dropped, is
 * dropped (PW_DROP_FRAG_UNKNOWN).
 */
struct pw_frag_key {
	union pw_addr src;
	union pw_addr dst;
	__u32 id; /* IPv4 id (16 bits) or IPv6 fragment id */
	__u8 proto;
	__u8 hook;
	__u16 pad;
};

struct pw_frag_val {
	__u64 last_seen_ns;
	__u16 sport;
	__u16 dport;
	__u32 rule_id;
};

/* ---------------------------------------------------------------------
 * Counters.  pw_cnt_v2: PERCPU_ARRAY of PW_CNT_SLOTS elements, key
 * PW_CNT_SLOT(ep_id, dir), value struct pw_counters: one struct pw_counter
 * per code, where code is the reason for verdicts allow and drop, and
 * PW_CNT_AUDIT(reason) for audit.  ep_id 0 collects packets of no local
 * endpoint.  One element per endpoint and direction (not one per counter,
 * as pw_cnt_v1 had): a per-CPU array's lookup first reads the element's
 * per-CPU pointer from a table of max_entries pointers, and with one
 * element per counter that table (513 KB) cost a cache miss of its own on
 * every packet; with 1026 elements it is 8 KB and stays cached, so a count
 * touches the one line of its counter (docs/datapath.md, "Per-packet
 * cost").  PW_CNT_INDEX is the flat index (slot, code) used by user space
 * for arrays of all counters.
 * pw_rcnt_v1: PERCPU_ARRAY of struct pw_counter indexed by rule id.
 */
#define PW_CNT_CODES 64
#define PW_CNT_AUDIT(reason) ((reason) + 16) /* drop reasons 32..47 -> 48..63 */
#define PW_CNT_SLOTS (2 * (PW_MAX_LOCAL_EPS + 1))
#define PW_CNT_SLOT(ep_id, dir) (2u * (ep_id) + (dir))
#define PW_CNT_INDEX(ep_id, dir, code) (PW_CNT_SLOT(ep_id, dir) * PW_CNT_CODES + (code))

struct pw_counter {
	__u64 packets;
	__u64 bytes;
};

struct pw_counters {
	struct pw_counter code[PW_CNT_CODES];
};

/* ---------------------------------------------------------------------
 * pw_events_v1: RINGBUF of struct pw_event.  One record per dropped or
 * audited packet and per new allowed flow (with PW_STATE_LOG_ALLOW), limited
 * per CPU by a token bucket (pw_rl_v1, PERCPU_ARRAY[1] of struct pw_rl);
 * records suppressed by the limit are counted in pw_rl.suppressed.
 */
#define PW_EV_DROP 1
#define PW_EV_AUDIT 2
#define PW_EV_NEW_FLOW 3

struct pw_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	union pw_addr src;
	union pw_addr dst;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 hook; /* PW_HOOK_* */
	__u8 type; /* PW_EV_* */
	__u8 reason; /* enum pw_reason */
	__u8 verdict; /* enum pw_verdict */
	__u8 dir; /* PW_DIR_* the decision was about */
	__u16 len; /* packet length (truncated to 65535) */
	__u32 ifindex;
	__u32 ep_id;
	__u32 rule_id;
	__u32 gen;
};

struct pw_rl {
	__u64 last_ns; /* bpf_ktime_get_coarse_ns() of the last event or suppression */
	__u64 tokens; /* scaled by 1e9 (token * ns) */
	__u64 suppressed;
};

#endif
