#!/usr/bin/env bash
# test_daemon.sh on a bridged node (br0 in the node netns; pods found
# through the neighbour table and the bridge FDB).
PW_E2E_TOPO=bridge exec "$(dirname "$0")/test_daemon.sh"
