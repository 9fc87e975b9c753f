/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Network back ends: what a NIC model (virtio-net, e1000) talks to. A NIC never
 * calls a host network library directly (VirtualBox's device/driver split).
 *
 * A back end carries whole Ethernet frames (destination MAC first, no FCS, no
 * virtio-net header) of at most NET_MAX_FRAME bytes.
 *
 * Threads: the back end runs on the machine's I/O thread. It delivers received
 * frames by calling the NIC's receive callback on the I/O thread, with no back-end
 * lock held; the NIC takes its own device lock inside. The NIC sends from a vCPU
 * thread (register write / queue notify) or from the I/O thread (ioeventfd); send is
 * thread-safe and never blocks (a full host side drops and counts).
 *
 * Flow control: when the NIC has no guest RX buffer it returns false from
 * can_receive/receive; the back end then keeps the frame (or drops and counts it,
 * as a real wire would) and retries after net_backend_rx_ready().
 *
 * Back ends are created from the config tree (Devices/<nic id>/... "netdev" props by
 * the NIC's realize): type "slirp" (NAT: 10.0.2.0/24, gateway/host 10.0.2.2, DNS
 * 10.0.2.3, DHCP from 10.0.2.15, like VirtualBox's and QEMU's NAT), "null" (cable
 * connected, nothing on the wire) or "none"/disconnected (link down).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/machine.h"

#define NET_MAX_FRAME 65550u /* 64 KiB TSO payload + Ethernet header, for GSO-free back ends */

typedef struct NetBackend NetBackend;

typedef struct {
    /* Required: a frame for the guest. Return false when the guest has no room
     * (the back end retries after net_backend_rx_ready()). */
    bool (*receive)(void *opaque, const uint8_t *frame, size_t len);
    /* Optional: link state changed (cable plugged/unplugged). */
    void (*link_changed)(void *opaque, bool up);
} NetClientOps;

typedef struct {
    char *type;          /* "slirp", "null", "none" */
    /* slirp */
    char *net;           /* "10.0.2.0/24" default */
    char *host_fwd;      /* rules "name,tcp|udp,[hostip],hostport,[guestip],guestport;..." */
    char *tftp_root;     /* optional */
    char *boot_file;     /* optional DHCP boot file name */
    bool restrict_net;   /* no outgoing connections (tests) */
} NetBackendOptions;

/* Reads the options of a NIC from its config node: keys netdev ("slirp" default),
 * net, hostfwd, tftp, bootfile, restrict. Unknown netdev types are refused. */
bool net_backend_options_from_cfg(VmmCfgNode *node, NetBackendOptions *out, GError **error);
void net_backend_options_clear(NetBackendOptions *o);

NetBackend *net_backend_new(VmmMachine *m, const NetBackendOptions *o, const NetClientOps *ops,
                            void *opaque, GError **error);
void net_backend_free(NetBackend *nb);

/* Guest → wire. Any thread; never blocks. Oversized frames are dropped and counted. */
void net_backend_send(NetBackend *nb, const uint8_t *frame, size_t len);
/* The NIC has RX room again (queue kick, RDT write): retry held frames. Any thread. */
void net_backend_rx_ready(NetBackend *nb);
bool net_backend_link_up(NetBackend *nb);
/* Plug/unplug the cable (controlvm setlinkstate, cable unplugged setting). */
void net_backend_set_link(NetBackend *nb, bool up);

/* Port forwarding at run time (controlvm natpf<N>); slirp only.
 * @rule: "name,tcp|udp,[hostip],hostport,[guestip],guestport". */
bool net_backend_add_forward(NetBackend *nb, const char *rule, GError **error);
bool net_backend_remove_forward(NetBackend *nb, const char *name, GError **error);

typedef struct {
    uint64_t tx_frames, tx_bytes, tx_dropped;
    uint64_t rx_frames, rx_bytes, rx_dropped;
} NetStats;
void net_backend_get_stats(NetBackend *nb, NetStats *out);
