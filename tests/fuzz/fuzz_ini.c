/* fuzz_ini.c - the configuration: any text is either loaded, with every
 * value in range, or refused with a message; nothing leaks or faults. */
#include <stdint.h>
#include <stdio.h>

#include "fuzz.h"
#include "patfs/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	char err[512] = "";
	struct cfg c = {0};
	int r;

	if (!f)
		return 0;
	r = cfg_load_stream(&c, f, "fuzz.ini", "/etc/patfs/", err, sizeof(err));
	fclose(f);
	if (r == 0) {
		MUST(c.store_path && c.store_path[0] == '/');
		MUST(c.pepper_file && c.pepper_file[0] == '/');
		MUST(c.auth_log && c.auth_log[0] == '/');
		MUST(c.max_lifetime_days >= 1);
		MUST(c.log_max_bytes >= 4096 && c.log_keep >= 0);
		MUST(c.notify_hour >= 0 && c.notify_hour <= 23);
		MUST(c.nthresholds >= 1 && c.nthresholds <= 8);
		for (int i = 0; i < c.nthresholds; i++)
			MUST(c.thresholds[i] >= 1 && c.thresholds[i] <= 3650 &&
			     (i == 0 || c.thresholds[i] < c.thresholds[i - 1]));
		MUST(c.notify_timeout_s >= 1 && c.notify_run_as);
	} else {
		MUST(err[0] != '\0');
	}
	cfg_free(&c);
	return 0;
}
