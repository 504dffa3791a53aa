/* fake_syslog.c - preloaded by a test in place of syslog(3): appends what
 * a daemon hands syslog to the file $FAKE_SYSLOG, a line each:
 * "openlog IDENT FACILITY" and "syslog PRIORITY MESSAGE". */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static void append(const char *line)
{
	const char *path = getenv("FAKE_SYSLOG");
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, strlen(line)) < 0)
		(void)0;
	close(fd);
}

void openlog(const char *ident, int option, int facility)
{
	char line[256];

	(void)option;
	snprintf(line, sizeof(line), "openlog %s %s\n", ident ? ident : "-",
		 facility == LOG_DAEMON ? "LOG_DAEMON" : "other");
	append(line);
}

void vsyslog(int priority, const char *fmt, va_list ap)
{
	char msg[1024], line[1100];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	snprintf(line, sizeof(line), "syslog %d %s\n", priority & 7, msg);
	append(line);
}

void syslog(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
}

void __vsyslog_chk(int priority, int flag, const char *fmt, va_list ap);
void __vsyslog_chk(int priority, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(priority, fmt, ap);
}

void __syslog_chk(int priority, int flag, const char *fmt, ...);
void __syslog_chk(int priority, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
}
