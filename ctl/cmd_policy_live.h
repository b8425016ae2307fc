/* SPDX-License-Identifier: MIT */
/* `policy list` and `policy show NS/NAME` (ctl/cmd_policy_live.c), for the
 * command table in ctl/cmd_policy.c.  argv[0] is the first argument after
 * the command name; the return is the exit status. */
#ifndef PODWALLCTL_CMD_POLICY_LIVE_H
#define PODWALLCTL_CMD_POLICY_LIVE_H

int cmd_policy_list(int argc, char **argv);
int cmd_policy_show(int argc, char **argv);

#endif
