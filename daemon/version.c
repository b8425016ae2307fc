// SPDX-License-Identifier: MIT
#include "version.h"

#ifndef PODWALL_VERSION
#define PODWALL_VERSION "0.1.0"
#endif

const char *pw_version(void)
{
	return PODWALL_VERSION;
}
