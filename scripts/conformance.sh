#!/usr/bin/env bash
# PLACEHOLDER: the NetworkPolicy conformance suite is not written yet.
echo "conformance: PLACEHOLDER — no conformance tests exist yet; nothing was checked."
exit 0
