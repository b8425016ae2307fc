// SPDX-License-Identifier: MIT
/*
 * TEMPORARY stand-ins for the engine and dkern APIs (see ext_api.h), so
 * podwalld links and its service side can be run before their code lands.
 * They enforce nothing: the model is the list of YAML files, the image is
 * empty, and the dataplane only remembers the last image.  A file whose
 * first line contains "podwall-stub-error" fails the load, so reload error
 * handling can be exercised end to end.  Delete this file at the merge.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ext_api.h"

struct pw_model {
	int files;
};

struct pw_dp {
	int applied;
};

int pw_model_load_dir(const char *dir, struct pw_model **ret_model, char **ret_errors)
{
	struct pw_model *m;
	struct dirent *de;
	DIR *d = opendir(dir);
	int files = 0, err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[4096], line[256] = "";
		size_t n = strlen(de->d_name);
		FILE *f;

		if (de->d_name[0] == '.' || !(n > 5 && strcmp(de->d_name + n - 5, ".yaml") == 0))
			continue;
		files++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f) && strstr(line, "podwall-stub-error")) {
			free(*ret_errors);
			if (asprintf(ret_errors, "%s:1:1: stub error marker\n", de->d_name) < 0)
				*ret_errors = NULL;
			err = -EINVAL;
		}
		fclose(f);
	}
	closedir(d);
	if (err)
		return err;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->files = files;
	*ret_model = m;
	return 0;
}

int pw_compile(const struct pw_model *m, struct pw_image **ret_img, char **ret_errors)
{
	(void)m, (void)ret_errors;
	*ret_img = calloc(1, sizeof(struct pw_image));
	return *ret_img ? 0 : -ENOMEM;
}

void pw_model_free(struct pw_model *m)
{
	free(m);
}

void pw_image_free(struct pw_image *img)
{
	free(img);
}

int pw_dp_open(const struct pw_dp_opts *opts, struct pw_dp **ret)
{
	(void)opts;
	*ret = calloc(1, sizeof(struct pw_dp));
	return *ret ? 0 : -ENOMEM;
}

int pw_dp_apply(struct pw_dp *dp, struct pw_image *img)
{
	(void)img;
	dp->applied++;
	return 0;
}

int pw_dp_netlink_fd(struct pw_dp *dp)
{
	(void)dp;
	return -1;
}

int pw_dp_on_netlink(struct pw_dp *dp)
{
	(void)dp;
	return 0;
}

int pw_dp_status(struct pw_dp *dp, json_t **ret)
{
	*ret = json_pack("{s:b,s:i}", "stub", 1, "applied", dp->applied);
	return *ret ? 0 : -ENOMEM;
}

void pw_dp_close(struct pw_dp *dp)
{
	free(dp);
}

int pw_dp_uninstall(const char *bpffs)
{
	(void)bpffs;
	return 0;
}
