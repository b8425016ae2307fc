// SPDX-License-Identifier: MIT
/*
 * Compile benchmark: parse + compile a generated directory of N pods and
 * 100 policies (tests/unit/gen.c), N in 10, 100, 1k, 10k.  Each size runs in
 * its own child so peak RSS is per size.  Prints one flat JSON object:
 *   compile_s_<N>_pods        parse + compile wall time (best of 3)
 *   compile_rss_mb_<N>_pods   peak RSS of the child
 *   compile_entries_<N>_pods  pw_pol_v1 + pw_range_v1 entries
 *   compile_adv_*            the same for the adversarial generator (<= 1k pods)
 * Usage: compile_bench [MAX_PODS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tests/unit/gen.c"
#include "podwall/model.h"
#include "policy_compile.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
	double secs;
	double parse_secs;
	double rss_mb;
	size_t entries;
	size_t sets;
	size_t ids;
	int ok;
};

static void run(unsigned pods, int adversarial, struct result *res)
{
	/* the adversarial shape needs more than the map limits: measure it anyway */
	struct pw_compile_opts co = { .max_pols = 100000000, .max_ranges = 10000000 };
	struct gen_opts o = { .n_ns = 10,
			      .n_pods = pods,
			      .n_policies = 100,
			      .max_rules = 3,
			      .v6 = 1,
			      .odd_pods = 1 };
	size_t len;
	char *y = adversarial ? gen_yaml(42, &o, &len) : gen_yaml_cluster(42, &o, &len);
	double best = 1e9, best_parse = 1e9;
	struct rusage ru;
	int i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < 3; i++) {
		struct pw_diags d;
		struct pw_model *m = NULL;
		struct pw_image *img = NULL;
		double t0 = now(), t1;

		pw_diags_init(&d);
		if (pw_model_load_buffer("gen.yaml", y, len, NULL, &m, &d)) {
			pw_diags_print(&d, stderr, false);
			return;
		}
		t1 = now();
		if (pw_compile(m, adversarial ? &co : NULL, &img, &d)) {
			pw_diags_print(&d, stderr, false);
			return;
		}
		if (now() - t0 < best)
			best = now() - t0;
		if (t1 - t0 < best_parse)
			best_parse = t1 - t0;
		res->entries = img->n_pols + img->n_ranges;
		res->sets = img->n_sets;
		res->ids = img->n_ids;
		pw_image_free(img);
		pw_model_free(m);
		pw_diags_free(&d);
	}
	free(y);
	getrusage(RUSAGE_SELF, &ru);
	res->secs = best;
	res->parse_secs = best_parse;
	res->rss_mb = (double)ru.ru_maxrss / 1024.0;
	res->ok = 1;
}

int main(int argc, char **argv)
{
	static const unsigned sizes[] = { 10, 100, 1000, 10000 };
	static const char *const names[] = { "10", "100", "1k", "10k" };
	unsigned max = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
	size_t i;
	int first = 1, adv;

	printf("{");
	/* deployment-shaped up to 10k pods; adversarial (every pod unlike the
	 * others) up to 1k: it grows with pods x identities */
	for (adv = 0; adv < 2; adv++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && sizes[i] <= max &&
			    (!adv || sizes[i] <= 1000);
		     i++) {
			const char *pfx = adv ? "compile_adv" : "compile";
			int fds[2], status;
			struct result r = {};
			pid_t pid;

			if (pipe(fds))
				return 1;
			pid = fork();
			if (pid < 0)
				return 1;
			if (!pid) {
				close(fds[0]);
				run(sizes[i], adv, &r);
				if (write(fds[1], &r, sizeof(r)) != sizeof(r))
					_exit(1);
				_exit(0);
			}
			close(fds[1]);
			if (read(fds[0], &r, sizeof(r)) != sizeof(r))
				r.ok = 0;
			close(fds[0]);
			waitpid(pid, &status, 0);
			if (!r.ok) {
				fprintf(stderr, "compile_bench: %u pods failed\n", sizes[i]);
				return 1;
			}
			printf("%s\"%s_s_%s_pods\": %.4f, \"%s_parse_s_%s_pods\": %.4f, "
			       "\"%s_rss_mb_%s_pods\": %.1f, \"%s_entries_%s_pods\": %zu, "
			       "\"%s_sets_%s_pods\": %zu, \"%s_identities_%s_pods\": %zu",
			       first ? "" : ", ", pfx, names[i], r.secs, pfx, names[i],
			       r.parse_secs, pfx, names[i], r.rss_mb, pfx, names[i], r.entries, pfx,
			       names[i], r.sets, pfx, names[i], r.ids);
			fflush(stdout);
			first = 0;
		}
	printf("}\n");
	return 0;
}
