// SPDX-License-Identifier: MIT
/*
 * PLACEHOLDERS: weak definitions of the object entry points nobody has
 * written yet, so podwallctl links and says so clearly.  The real
 * ctl/cmd_<object>.c defines the strong symbol and wins at link time;
 * delete the matching stub here when it lands.
 */
#include "podwallctl.h"

#define PW_STUB(fn, name)                                                               \
	__attribute__((weak)) int fn(int argc, char **argv)                             \
	{                                                                               \
		(void)argc;                                                             \
		(void)argv;                                                             \
		return pw_error(PW_EXIT_FAIL, name ": not implemented yet");            \
	}

PW_STUB(do_status, "status")
PW_STUB(do_endpoint, "endpoint")
PW_STUB(do_counters, "counters")
PW_STUB(do_flows, "flows")
PW_STUB(do_metrics, "metrics")
