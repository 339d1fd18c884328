/* SPDX-License-Identifier: Apache-2.0 */
/* auth_priv.c - Milvus's privileges (API names, as in its ObjectPrivileges table), the
 * object type each belongs to, and the built-in privilege groups, as one table: each
 * privilege lists the built-in groups that contain it (pkg/util/constant.go in Milvus:
 * ReadOnly/ReadWrite/Admin, and the RBAC v2 Collection*, Database*, Cluster* groups). */
#include <string.h>

#include "auth/auth_int.h"

enum {
    G_RO = 1u << 0, /* ReadOnly (the legacy v1 groups) */
    G_RW = 1u << 1,
    G_ADMIN = 1u << 2,
    G_COLL_RO = 1u << 3,
    G_COLL_RW = 1u << 4,
    G_COLL_ADMIN = 1u << 5,
    G_DB_RO = 1u << 6,
    G_DB_RW = 1u << 7,
    G_DB_ADMIN = 1u << 8,
    G_CLUSTER_RO = 1u << 9,
    G_CLUSTER_RW = 1u << 10,
    G_CLUSTER_ADMIN = 1u << 11,
};

/* Each level's groups include the ones above it. */
#define LEGACY_RO (G_RO | G_RW | G_ADMIN)
#define LEGACY_RW (G_RW | G_ADMIN)
#define COLL_RO (G_COLL_RO | G_COLL_RW | G_COLL_ADMIN)
#define COLL_RW (G_COLL_RW | G_COLL_ADMIN)
#define DB_RO (G_DB_RO | G_DB_RW | G_DB_ADMIN)
#define DB_RW (G_DB_RW | G_DB_ADMIN)
#define CLUSTER_RO (G_CLUSTER_RO | G_CLUSTER_RW | G_CLUSTER_ADMIN)
#define CLUSTER_RW (G_CLUSTER_RW | G_CLUSTER_ADMIN)

static const struct {
    const char *name, *object_type;
    unsigned groups;
} privileges[] = {
    /* Collection */
    {"Query", "Collection", LEGACY_RO | COLL_RO},
    {"Search", "Collection", LEGACY_RO | COLL_RO},
    {"IndexDetail", "Collection", LEGACY_RO | COLL_RO},
    {"GetFlushState", "Collection", LEGACY_RO | COLL_RO},
    {"GetLoadState", "Collection", LEGACY_RO | COLL_RO},
    {"GetLoadingProgress", "Collection", LEGACY_RO | COLL_RO},
    {"HasPartition", "Collection", LEGACY_RO | COLL_RO},
    {"ShowPartitions", "Collection", LEGACY_RO | COLL_RO},
    {"GetStatistics", "Collection", LEGACY_RO | COLL_RO},
    {"Load", "Collection", LEGACY_RW | COLL_RW},
    {"Release", "Collection", LEGACY_RW | COLL_RW},
    {"Insert", "Collection", LEGACY_RW | COLL_RW},
    {"Delete", "Collection", LEGACY_RW | COLL_RW},
    {"Upsert", "Collection", LEGACY_RW | COLL_RW},
    {"Import", "Collection", LEGACY_RW | COLL_RW},
    {"Flush", "Collection", LEGACY_RW | COLL_RW},
    {"Compaction", "Collection", LEGACY_RW | COLL_RW},
    {"LoadBalance", "Collection", LEGACY_RW | COLL_RW},
    {"CreateIndex", "Collection", LEGACY_RW | COLL_RW},
    {"DropIndex", "Collection", LEGACY_RW | COLL_RW},
    {"CreatePartition", "Collection", LEGACY_RW | COLL_RW},
    {"DropPartition", "Collection", LEGACY_RW | COLL_RW},
    /* Global */
    {"All", "Global", 0},
    {"DescribeCollection", "Global", LEGACY_RO | COLL_RO},
    {"DescribeAlias", "Global", LEGACY_RO | COLL_RO},
    {"ListAliases", "Global", LEGACY_RO | COLL_RO},
    {"CreateAlias", "Global", LEGACY_RW | G_COLL_ADMIN},
    {"DropAlias", "Global", LEGACY_RW | G_COLL_ADMIN},
    {"ShowCollections", "Global", LEGACY_RO | DB_RO},
    {"DescribeDatabase", "Global", LEGACY_RO | DB_RO},
    {"AlterDatabase", "Global", G_ADMIN | DB_RW},
    {"CreateCollection", "Global", G_ADMIN | G_DB_ADMIN},
    {"DropCollection", "Global", G_ADMIN | G_DB_ADMIN},
    {"ListDatabases", "Global", LEGACY_RO | CLUSTER_RO},
    {"SelectOwnership", "Global", G_ADMIN | CLUSTER_RO},
    {"DescribeResourceGroup", "Global", G_ADMIN | CLUSTER_RO},
    {"ListResourceGroups", "Global", G_ADMIN | CLUSTER_RO},
    {"ListPrivilegeGroups", "Global", CLUSTER_RO},
    {"FlushAll", "Global", CLUSTER_RW},
    {"TransferNode", "Global", G_ADMIN | CLUSTER_RW},
    {"TransferReplica", "Global", G_ADMIN | CLUSTER_RW},
    {"UpdateResourceGroups", "Global", G_ADMIN | CLUSTER_RW},
    {"RenameCollection", "Global", LEGACY_RW | G_CLUSTER_ADMIN},
    {"BackupRBAC", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"RestoreRBAC", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"CreateDatabase", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"DropDatabase", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"CreateOwnership", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"DropOwnership", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"ManageOwnership", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"CreateResourceGroup", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"DropResourceGroup", "Global", G_ADMIN | G_CLUSTER_ADMIN},
    {"CreatePrivilegeGroup", "Global", G_CLUSTER_ADMIN},
    {"DropPrivilegeGroup", "Global", G_CLUSTER_ADMIN},
    {"OperatePrivilegeGroup", "Global", G_CLUSTER_ADMIN},
    /* User */
    {"SelectUser", "User", G_ADMIN | CLUSTER_RO},
    {"UpdateUser", "User", G_ADMIN | G_CLUSTER_ADMIN},
};

static const struct {
    const char *name;
    unsigned bit;
    auth_level level;
} builtin_groups[] = {
    {"ReadOnly", G_RO, AUTH_LEVEL_ANY}, /* legacy groups: no level */
    {"ReadWrite", G_RW, AUTH_LEVEL_ANY},
    {"Admin", G_ADMIN, AUTH_LEVEL_ANY},
    {"CollectionReadOnly", G_COLL_RO, AUTH_LEVEL_COLLECTION},
    {"CollectionReadWrite", G_COLL_RW, AUTH_LEVEL_COLLECTION},
    {"CollectionAdmin", G_COLL_ADMIN, AUTH_LEVEL_COLLECTION},
    {"DatabaseReadOnly", G_DB_RO, AUTH_LEVEL_DATABASE},
    {"DatabaseReadWrite", G_DB_RW, AUTH_LEVEL_DATABASE},
    {"DatabaseAdmin", G_DB_ADMIN, AUTH_LEVEL_DATABASE},
    {"ClusterReadOnly", G_CLUSTER_RO, AUTH_LEVEL_CLUSTER},
    {"ClusterReadWrite", G_CLUSTER_RW, AUTH_LEVEL_CLUSTER},
    {"ClusterAdmin", G_CLUSTER_ADMIN, AUTH_LEVEL_CLUSTER},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int find_privilege(const char *name)
{
    for (size_t i = 0; i < COUNT(privileges); i++)
        if (strcmp(privileges[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int find_builtin_group(const char *name)
{
    for (size_t i = 0; i < COUNT(builtin_groups); i++)
        if (strcmp(builtin_groups[i].name, name) == 0)
            return (int)i;
    return -1;
}

bool auth_priv_known(const char *name) { return find_privilege(name) >= 0; }

const char *auth_priv_object_type(const char *name)
{
    int i = find_privilege(name);
    return i < 0 ? NULL : privileges[i].object_type;
}

bool auth_priv_builtin_group(const char *name) { return find_builtin_group(name) >= 0; }

bool auth_priv_covers(const auth_state *s, const char *granted, const char *needed)
{
    int p = find_privilege(needed), g;
    const auth_group *custom;

    if (strcmp(granted, needed) == 0 || strcmp(granted, "All") == 0)
        return true;
    if ((g = find_builtin_group(granted)) >= 0)
        return p >= 0 && (privileges[p].groups & builtin_groups[g].bit);
    if ((custom = auth_find_group(s, granted)))
        return auth_names_has(&custom->privileges, needed);
    return false;
}

/* Milvus's GetPrivilegeLevel: the first of the Cluster, Database and Collection admin
 * groups that holds the privilege. */
auth_level auth_priv_level(const char *name)
{
    int p = find_privilege(name), g = find_builtin_group(name);
    unsigned bits;

    if (g >= 0)
        return builtin_groups[g].level;
    if (p < 0)
        return AUTH_LEVEL_ANY; /* All, custom groups */
    bits = privileges[p].groups;
    if (bits & G_CLUSTER_ADMIN)
        return AUTH_LEVEL_CLUSTER;
    if (bits & G_DB_ADMIN)
        return AUTH_LEVEL_DATABASE;
    if (bits & G_COLL_ADMIN)
        return AUTH_LEVEL_COLLECTION;
    return AUTH_LEVEL_ANY;
}
