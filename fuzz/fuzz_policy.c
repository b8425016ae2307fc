// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: parser + compiler + evaluator on one input file.
 * Any input must give a clean error or a valid image; never a crash, leak
 * or undefined behaviour.  Run with `make fuzz` (FUZZ_SECONDS).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "policy_compile.h"
#include "podwall/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_limits lim = { .max_file_bytes = 1 << 20,
				 .max_nodes = 200000,
				 .max_objects = 2000 };
	struct pw_compile_opts opts = { .max_pols = 200000 };
	struct pw_diags d;
	struct pw_model *m = NULL;
	struct pw_image *img = NULL;
	struct pw_eval_backend be;
	size_t i, j;

	pw_diags_init(&d);
	if (pw_model_load_buffer("fuzz.yaml", (const char *)data, size, &lim, &m, &d))
		goto out;
	if (pw_compile(m, &opts, &img, &d))
		goto out;
	if (pw_eval_image_open(img, &be))
		goto out;
	/* every pair of endpoints, a few probes, plus an outside address */
	for (i = 0; i < img->n_eps && i < 16; i++)
		for (j = 0; j < img->n_eps && j < 16; j++) {
			struct pw_flow_result r;
			union pw_addr w = {};

			pw_eval_flow(&be, &img->eps[i].addr, &img->eps[j].addr, PW_PROTO_TCP, 80,
				     &r);
			pw_eval_flow(&be, &img->eps[i].addr, &img->eps[j].addr, PW_PROTO_UDP, 53,
				     &r);
			pw_eval_flow(&be, &img->eps[i].addr, &img->eps[j].addr, PW_PROTO_ICMP, 0,
				     &r);
			w.b[10] = w.b[11] = 0xff;
			w.b[12] = 10;
			w.b[15] = (uint8_t)j;
			pw_eval_flow(&be, &w, &img->eps[i].addr, PW_PROTO_SCTP, 81, &r);
		}
	pw_eval_image_close(&be);
out:
	for (i = 0; i < d.n; i++) {
		char *s = pw_diag_format(&d.v[i]);

		free(s);
	}
	pw_image_free(img);
	pw_model_free(m);
	pw_diags_free(&d);
	return 0;
}
