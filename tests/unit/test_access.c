/* test_access.c - unit tests of core/access.c, the one place that decides
 * who may do what: the rights of each role (an admin, the owner, anyone
 * else) on every kind of object, and on every file of a token in each of
 * its states, written out here as the policy says them; the errno each
 * refusal gives; the modes a stat shows, with and without an admin group;
 * who counts as an admin. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "patfs/access.h"
#include "patfs/cfg.h"
#include "patfs/token.h"
#include "patfs/user.h"

#define R	  ACCESS_R
#define W	  ACCESS_W
#define X	  ACCESS_X
#define OWNER_UID 1000

enum role { ADMIN, OWNER, OTHER, NROLES };

static char group[] = "patfs-admin"; /* [access] admin_group, when set */

static const struct pfs_actor actors[NROLES] = {
    [ADMIN] = {.uid = 0, .admin = true},
    [OWNER] = {.uid = OWNER_UID},
    [OTHER] = {.uid = 2000},
};

static const char *const role_names[NROLES] = {"admin", "owner", "other"};

/* An object and the rights each role has on it (negative: that errno). */
struct row {
	const char *what;
	enum access_kind kind;
	int attr;
	int64_t owner;
	int rights[NROLES];
};

/* Every kind that is not a token's. */
static const struct row objects[] = {
    {"the root", ACCESS_PUBLIC_DIR, 0, -1, {R | X, R | X, R | X}},
    {"users/", ACCESS_USERS, 0, -1, {R | W | X, R | X, R | X}},
    {"a user", ACCESS_USER, 0, OWNER_UID, {R | W | X, R | X, 0}},
    {"a user's id", ACCESS_USER_ATTR, USER_ID, OWNER_UID, {R, R, -EACCES}},
    {"a user's blocked",
     ACCESS_USER_ATTR,
     USER_BLOCKED,
     OWNER_UID,
     {R | W, R, -EACCES}},
    {"a user's uid",
     ACCESS_USER_ATTR,
     USER_UID,
     OWNER_UID,
     {R | W, R, -EACCES}},
    {"a user's kind",
     ACCESS_USER_ATTR,
     USER_KIND,
     OWNER_UID,
     {R | W, R, -EACCES}},
    {"tokens/", ACCESS_TOKENS, 0, OWNER_UID, {R | W | X, R | W | X, -EACCES}},
    {"tokens.json", ACCESS_USER_JSON, 0, OWNER_UID, {R, R, -EACCES}},
    {"expiring/", ACCESS_ADMIN_DIR, 0, -1, {R | X, 0, 0}},
    {"a link", ACCESS_LINK, 0, -1, {R | W | X, R | W | X, R | W | X}},
    {"audit.log", ACCESS_AUDIT, 0, -1, {R, 0, 0}},
    {"auth/<scope>", ACCESS_CHECKER, 0, -1, {W, W, W}},
    {"revoke", ACCESS_REVOKE, 0, -1, {W, 0, 0}},
    {"identify", ACCESS_IDENTIFY, 0, -1, {R | W, 0, 0}},
    {"rotate", ACCESS_SELF_ROTATE, 0, -1, {R | W, R | W, R | W}},
    {"expiring.ics", ACCESS_CALENDAR, 0, -1, {R, R, R}},
    {"projects/", ACCESS_RESOURCES, 0, -1, {R | W | X, 0, 0}},
    {"a project", ACCESS_RESOURCE, 0, -1, {R | W | X, 0, 0}},
    {"its id", ACCESS_RESOURCE_ATTR, 0, -1, {R, 0, 0}},
    {"its path", ACCESS_RESOURCE_ATTR, 1, -1, {R | W, 0, 0}},
    {"its tokens/", ACCESS_RESOURCE_TOKENS, 0, -1, {R | W | X, 0, 0}},
    {"a temp file", ACCESS_SCRATCH, 0, OWNER_UID, {R | W, R | W, 0}},
    {"a policy", ACCESS_POLICY, 0, -1, {R | W, R, R}},
};

/* A token's states, each a token_info the rows below refer to. */
enum state { LIVE, SEALED, REVOKED, IMPORTED, NSTATES };

static const char *const state_names[NSTATES] = {"live", "sealed", "revoked",
						 "imported"};

/* The rights of the owner and of an admin on each file of a token, by
 * state: what SPEC's permission model says. Anyone else: -EACCES. */
struct attr_row {
	enum token_attr attr;
	unsigned owner[NSTATES], admin[NSTATES];
};

#define RO                                                                     \
	{                                                                      \
		R, R, R, R                                                     \
	}

static const struct attr_row attrs[] = {
    {TOKEN_NAME, RO, RO},
    {TOKEN_DESCRIPTION, {R | W, R | W, R, R}, {R | W, R | W, R, R}},
    {TOKEN_SCOPES, {R | W, R, R, R}, {R | W, R, R, R}},
    {TOKEN_IMPERSONATION, RO, {R | W, R, R, R}},
    {TOKEN_CREATED_AT, RO, RO},
    {TOKEN_EXPIRES_AT, {R | W, R | W, R, R}, {R | W, R | W, R, R}},
    {TOKEN_LAST_USED_AT, RO, RO},
    {TOKEN_REVOKED, {R | W, R | W, R | W, R}, {R | W, R | W, R | W, R}},
    {TOKEN_ACTIVE, RO, RO},
    {TOKEN_SECRET, RO, {R | W, R, R, R}},
    {TOKEN_META, RO, RO},
    {TOKEN_ROTATE, {R | W, R | W, R | W, R}, {R | W, R | W, R | W, R}},
    {TOKEN_PREVIOUS, RO, RO},
    {TOKEN_NEXT, RO, RO},
    {TOKEN_ACCESS_LEVEL, {R | W, R, R, R}, {R | W, R, R, R}},
    {TOKEN_BOT, RO, RO},
    {TOKEN_NOTIFIED, RO, RO},
    {TOKEN_DISABLED, {R | W, R | W, R, R}, {R | W, R | W, R, R}},
    {TOKEN_USED_FROM, RO, RO},
};

static struct token_info token_in(enum state s)
{
	struct token_info t = {.id = 7, .user_uid = OWNER_UID};

	if (s == SEALED || s == REVOKED)
		t.sealed_at = 100;
	if (s == REVOKED)
		t.revoked_at = 200;
	if (s == IMPORTED)
		t.gitlab_id = 42;
	return t;
}

static void test_objects(void)
{
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		const struct row *o = &objects[i];
		struct access_obj obj = access_of(o->kind, o->attr, o->owner);

		for (int r = 0; r < NROLES; r++) {
			int got = access_rights(&actors[r], &obj);
			if (got != o->rights[r])
				fprintf(stderr, "%s, %s: ", o->what,
					role_names[r]);
			CHECK_EQ(got, o->rights[r]);
		}
	}
}

static void test_token_files(void)
{
	CHECK_EQ(sizeof(attrs) / sizeof(attrs[0]), TOKEN_NATTR);
	for (int s = 0; s < NSTATES; s++) {
		struct token_info t = token_in(s);
		for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
			struct access_obj o =
			    access_of_token(&t, (int)attrs[i].attr);
			int want[NROLES] = {(int)attrs[i].admin[s],
					    (int)attrs[i].owner[s], -EACCES};
			for (int r = 0; r < NROLES; r++) {
				int got = access_rights(&actors[r], &o);
				if (got != want[r])
					fprintf(stderr,
						"%s of a %s token, %s: ",
						token_attrs[attrs[i].attr].name,
						state_names[s], role_names[r]);
				CHECK_EQ(got, want[r]);
			}
		}
		/* the directory: enter and list, and make temp files in it
		 * (not in an imported token's) */
		struct access_obj dir = access_of_token(&t, -1);
		int w = s == IMPORTED ? 0 : W;
		CHECK_EQ(access_rights(&actors[ADMIN], &dir), R | X | w);
		CHECK_EQ(access_rights(&actors[OWNER], &dir), R | X | w);
		CHECK_EQ(access_rights(&actors[OTHER], &dir), -EACCES);
	}
}

/* An impersonation token is hidden from its owner, as GitLab hides it:
 * its directory and every file answer ENOENT; admins see it as any. */
static void test_impersonation(void)
{
	struct token_info t = token_in(LIVE);

	t.impersonation = 1;
	for (int a = -1; a < TOKEN_NATTR; a++) {
		struct access_obj o = access_of_token(&t, a);
		CHECK_EQ(access_rights(&actors[OWNER], &o), -ENOENT);
		CHECK_EQ(access_check(&actors[OWNER], &o, R), -ENOENT);
		CHECK(access_rights(&actors[ADMIN], &o) > 0);
		CHECK_EQ(access_rights(&actors[OTHER], &o), -EACCES);
	}
}

/* access_check's errnos: EPERM for what is seen but may not be done (root
 * included), EACCES for no right at all, ENOENT for what is hidden. */
static void test_checks(void)
{
	struct token_info sealed = token_in(SEALED);
	struct access_obj scopes = access_of_token(&sealed, TOKEN_SCOPES);
	struct access_obj audit = access_of(ACCESS_AUDIT, 0, -1);
	struct access_obj tokens = access_of(ACCESS_TOKENS, 0, OWNER_UID);

	CHECK_EQ(access_check(&actors[ADMIN], &scopes, W), -EPERM);
	CHECK_EQ(access_check(&actors[OWNER], &scopes, W), -EPERM);
	CHECK_EQ(access_check(&actors[OWNER], &scopes, R), 0);
	CHECK_EQ(access_check(&actors[OTHER], &scopes, R), -EACCES);
	CHECK_EQ(access_check(&actors[OWNER], &audit, R), -EACCES);
	CHECK_EQ(access_check(&actors[ADMIN], &audit, W), -EPERM);
	CHECK_EQ(access_check(&actors[OWNER], &tokens, W), 0);
	CHECK_EQ(access_check(&actors[OTHER], &tokens, W), -EACCES);
	CHECK_EQ(access_see(&actors[OTHER], &tokens), -EACCES);
	CHECK_EQ(access_see(&actors[OWNER], &tokens), 0);
}

/* The modes: the owner's rights in the user bits (an admin's when nobody
 * owns it), the admin group's in the group bits only with an admin group,
 * everyone else's in the other bits. */
static void test_modes(void)
{
	struct cfg plain = {0},
		   grouped = {.admin_group = group, .admin_gid = 990};
	struct token_info t = token_in(LIVE);
	struct access_obj desc = access_of_token(&t, TOKEN_DESCRIPTION);
	struct access_obj audit = access_of(ACCESS_AUDIT, 0, -1);
	struct access_obj revoke = access_of(ACCESS_REVOKE, 0, -1);
	mode_t mode;
	uid_t uid;
	gid_t gid;

	access_mode(&plain, &desc, &mode, &uid, &gid);
	CHECK_EQ(mode, 0600);
	CHECK_EQ(uid, OWNER_UID);
	CHECK_EQ(gid, 0);
	access_mode(&grouped, &desc, &mode, &uid, &gid);
	CHECK_EQ(mode, 0660);
	CHECK_EQ(gid, 990);
	access_mode(&plain, &audit, &mode, &uid, &gid);
	CHECK_EQ(mode, 0400);
	CHECK_EQ(uid, 0);
	access_mode(&grouped, &audit, &mode, &uid, &gid);
	CHECK_EQ(mode, 0440);
	access_mode(&grouped, &revoke, &mode, &uid, &gid);
	CHECK_EQ(mode, 0220);
	t.revoked_at = 5;
	access_mode(&grouped, &desc, &mode, &uid, &gid);
	CHECK_EQ(mode, 0440); /* a revoked token's description is final */
}

static int two_groups(void *ctx, gid_t *out, int max)
{
	(void)ctx;
	if (max < 2)
		return 0;
	out[0] = 100;
	out[1] = 990;
	return 2;
}

static int no_groups(void *ctx, gid_t *out, int max)
{
	(void)ctx, (void)out, (void)max;
	return 0;
}

/* An admin: uid 0, or the admin group by gid or supplementary group. */
static void test_admins(void)
{
	struct cfg plain = {0},
		   grouped = {.admin_group = group, .admin_gid = 990};
	struct pfs_actor a = {.uid = 0};

	access_set_admin(&plain, &a, no_groups, NULL);
	CHECK(a.admin);
	a = (struct pfs_actor){.uid = 5, .gid = 990};
	access_set_admin(&plain, &a, two_groups, NULL);
	CHECK(!a.admin); /* no admin group: only root */
	access_set_admin(&grouped, &a, no_groups, NULL);
	CHECK(a.admin);
	a = (struct pfs_actor){.uid = 5, .gid = 5};
	access_set_admin(&grouped, &a, two_groups, NULL);
	CHECK(a.admin);
	a = (struct pfs_actor){.uid = 5, .gid = 5};
	access_set_admin(&grouped, &a, no_groups, NULL);
	CHECK(!a.admin);
}

int main(void)
{
	test_objects();
	test_token_files();
	test_impersonation();
	test_checks();
	test_modes();
	test_admins();
	return check_done();
}
