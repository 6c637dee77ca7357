//! IAM groups and their memberships. Groups hold users and never nest.
//!
//! Membership is kept in two index records written together: `GroupMemberRecord` under
//! `group_lc/user_lc` (for GetGroup) and `UserGroupRecord` under `user_lc/group_lc` (for
//! ListGroupsForUser and the GroupsPerUser quota).

use moat_store::{Reader, Record, Writer};
use moat_types::{iam_path_arn, new_unique_id, AccountId, IdKind};

use crate::common::{matches_path_prefix, paginate, path_or_default, timestamp, Call};
use crate::records::{
    name_key, AttachedPolicyRecord, EntityKind, GroupMemberRecord, GroupRecord, InlinePolicyRecord,
    UserGroupRecord, UserRecord,
};
use crate::{
    users, AddUserToGroupRequest, CreateGroupRequest, CreateGroupResponse, DeleteGroupRequest,
    GetGroupRequest, GetGroupResponse, Group, IamError, ListGroupsForUserRequest,
    ListGroupsForUserResponse, ListGroupsRequest, ListGroupsResponse, RemoveUserFromGroupRequest,
    UpdateGroupRequest,
};

/// IAM's default quota of groups per account.
pub const MAX_GROUPS: u64 = 300;
/// IAM's quota of groups one user can be a member of.
pub const MAX_GROUPS_PER_USER: u64 = 10;

pub fn find(
    tx: &impl Reader,
    account: AccountId,
    name: &str,
) -> Result<Option<GroupRecord>, IamError> {
    Ok(tx.get::<GroupRecord>(&account.to_string(), &name_key(name))?)
}

pub fn require(tx: &impl Reader, account: AccountId, name: &str) -> Result<GroupRecord, IamError> {
    find(tx, account, name)?.ok_or_else(|| IamError::no_such_group(name))
}

pub fn wire_group(g: &GroupRecord) -> Group {
    Group {
        arn: g.arn.clone(),
        create_date: timestamp(g.create_date),
        group_id: g.id.clone(),
        group_name: g.name.clone(),
        path: g.path.clone(),
    }
}

fn already_exists(name: &str) -> IamError {
    IamError::EntityAlreadyExists(format!("Group with name {name} already exists."))
}

pub fn create_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateGroupRequest,
) -> Result<CreateGroupResponse, IamError> {
    let account = c.account_key();
    let key = name_key(&i.group_name);
    if tx.exists::<GroupRecord>(&account, &key)? {
        return Err(already_exists(&i.group_name));
    }
    if tx.count(GroupRecord::KIND, &account, "")? >= MAX_GROUPS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for GroupsPerAccount: {MAX_GROUPS}"
        )));
    }
    let path = path_or_default(i.path.as_deref());
    let record = GroupRecord {
        arn: iam_path_arn(c.account, "group", &path, &i.group_name),
        name: i.group_name,
        id: new_unique_id(IdKind::Group),
        path,
        create_date: c.now_ms(),
    };
    tx.put(&account, &key, &record)?;
    Ok(CreateGroupResponse {
        group: wire_group(&record),
    })
}

pub fn get_group(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetGroupRequest,
) -> Result<GetGroupResponse, IamError> {
    let account = c.account_key();
    let g = require(tx, c.account, &i.group_name)?;
    let page = paginate::<GroupMemberRecord>(
        tx,
        &account,
        &format!("{}/", name_key(&g.name)),
        i.marker.as_deref(),
        i.max_items,
        &mut |_, _| true,
    )?;
    let mut members = Vec::with_capacity(page.items.len());
    for m in &page.items {
        // Both halves of a membership are written in one transaction, so a member whose user
        // is gone would be a store inconsistency; skip it rather than fail the listing.
        if let Some(u) = tx.get::<UserRecord>(&account, &name_key(&m.user_name))? {
            members.push(users::wire_user(&u, false));
        }
    }
    Ok(GetGroupResponse {
        group: wire_group(&g),
        users: members,
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

pub fn update_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateGroupRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let mut g = require(tx, c.account, &i.group_name)?;
    let old_key = name_key(&g.name);
    if let Some(path) = i.new_path {
        g.path = path;
    }
    let renamed = i.new_group_name.filter(|n| *n != g.name);
    if let Some(new_name) = &renamed {
        let new_key = name_key(new_name);
        if new_key != old_key && tx.exists::<GroupRecord>(&account, &new_key)? {
            return Err(already_exists(new_name));
        }
        rename_references(tx, c, &g.name, new_name)?;
        g.name.clone_from(new_name);
    }
    g.arn = iam_path_arn(c.account, "group", &g.path, &g.name);
    tx.delete::<GroupRecord>(&account, &old_key)?;
    tx.put(&account, &name_key(&g.name), &g)?;
    Ok(())
}

/// Moves every record that refers to a group by name to its new name, in the same transaction:
/// both halves of each membership, managed policy attachments (and the policy's reverse
/// record), and inline policies. Also correct when only the name's case changes.
fn rename_references(
    tx: &mut impl Writer,
    c: &Call<'_>,
    old: &str,
    new: &str,
) -> Result<(), IamError> {
    let account = c.account_key();
    let (old_lc, new_lc) = (name_key(old), name_key(new));

    for (key, m) in tx.all::<GroupMemberRecord>(&account, &format!("{old_lc}/"))? {
        let user_lc = name_key(&m.user_name);
        tx.delete::<GroupMemberRecord>(&account, &key)?;
        tx.put(&account, &format!("{new_lc}/{user_lc}"), &m)?;
        tx.delete::<UserGroupRecord>(&account, &format!("{user_lc}/{old_lc}"))?;
        tx.put(
            &account,
            &format!("{user_lc}/{new_lc}"),
            &UserGroupRecord {
                group_name: new.to_owned(),
            },
        )?;
    }
    crate::common::move_entity_policies(tx, &account, EntityKind::Group, &old_lc, &new_lc, new)?;
    Ok(())
}

pub fn delete_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteGroupRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let g = require(tx, c.account, &i.group_name)?;
    let key = name_key(&g.name);
    let conflict = |what: &str| {
        Err(IamError::DeleteConflict(format!(
            "Cannot delete entity, must {what} first."
        )))
    };
    if tx.count(GroupMemberRecord::KIND, &account, &format!("{key}/"))? > 0 {
        return conflict("remove users from group");
    }
    if tx.count(
        AttachedPolicyRecord::KIND,
        &account,
        &format!("group/{key}/"),
    )? > 0
    {
        return conflict("detach all policies");
    }
    if tx.count(InlinePolicyRecord::KIND, &account, &format!("group/{key}/"))? > 0 {
        return conflict("delete policies");
    }
    tx.delete::<GroupRecord>(&account, &key)?;
    Ok(())
}

pub fn list_groups(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListGroupsRequest,
) -> Result<ListGroupsResponse, IamError> {
    let prefix = i.path_prefix.as_deref();
    let page = paginate::<GroupRecord>(
        tx,
        &c.account_key(),
        "",
        i.marker.as_deref(),
        i.max_items,
        &mut |_, g| matches_path_prefix(&g.path, prefix),
    )?;
    Ok(ListGroupsResponse {
        groups: page.items.iter().map(wire_group).collect(),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

pub fn add_user_to_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AddUserToGroupRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let u = users::require(tx, c.account, &i.user_name)?;
    let g = require(tx, c.account, &i.group_name)?;
    let (user_lc, group_lc) = (name_key(&u.name), name_key(&g.name));
    let membership = format!("{user_lc}/{group_lc}");
    if tx.exists::<UserGroupRecord>(&account, &membership)? {
        // Adding a member twice is not an error in IAM.
        return Ok(());
    }
    if tx.count(UserGroupRecord::KIND, &account, &format!("{user_lc}/"))? >= MAX_GROUPS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"
        )));
    }
    tx.put(
        &account,
        &membership,
        &UserGroupRecord {
            group_name: g.name.clone(),
        },
    )?;
    tx.put(
        &account,
        &format!("{group_lc}/{user_lc}"),
        &GroupMemberRecord { user_name: u.name },
    )?;
    Ok(())
}

pub fn remove_user_from_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: RemoveUserFromGroupRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    // IAM checks the user before the group, and removing a non-member succeeds.
    let u = users::require(tx, c.account, &i.user_name)?;
    let g = require(tx, c.account, &i.group_name)?;
    let (user_lc, group_lc) = (name_key(&u.name), name_key(&g.name));
    tx.delete::<UserGroupRecord>(&account, &format!("{user_lc}/{group_lc}"))?;
    tx.delete::<GroupMemberRecord>(&account, &format!("{group_lc}/{user_lc}"))?;
    Ok(())
}

pub fn list_groups_for_user(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListGroupsForUserRequest,
) -> Result<ListGroupsForUserResponse, IamError> {
    let account = c.account_key();
    let u = users::require(tx, c.account, &i.user_name)?;
    let page = paginate::<UserGroupRecord>(
        tx,
        &account,
        &format!("{}/", name_key(&u.name)),
        i.marker.as_deref(),
        i.max_items,
        &mut |_, _| true,
    )?;
    let mut groups = Vec::with_capacity(page.items.len());
    for m in &page.items {
        if let Some(g) = find(tx, c.account, &m.group_name)? {
            groups.push(wire_group(&g));
        }
    }
    Ok(ListGroupsForUserResponse {
        groups,
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

#[cfg(test)]
mod tests {
    use crate::records::{
        name_key, AttachedPolicyRecord, EntityKind, InlinePolicyRecord, PolicyAttachmentRecord,
    };
    use crate::testing::Env;
    use moat_store::Reader as _;
    use moat_store::Writer as _;
    use serde_json::json;

    fn names(v: &serde_json::Value, list: &str, field: &str) -> Vec<String> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[field].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn group_lifecycle() {
        let env = Env::new();
        let out = env.ok(
            "CreateGroup",
            json!({"GroupName": "Admins", "Path": "/ops/"}),
        );
        assert_eq!(
            out["Group"]["Arn"],
            "arn:aws:iam::123456789012:group/ops/Admins"
        );
        assert_eq!(out["Group"]["Path"], "/ops/");
        let id = out["Group"]["GroupId"].as_str().unwrap().to_owned();
        assert!(id.starts_with("AGPA") && id.len() == 21, "{id}");

        let (code, msg) = env.err("CreateGroup", json!({"GroupName": "ADMINS"}));
        assert_eq!(code, "EntityAlreadyExists");
        assert_eq!(msg, "Group with name ADMINS already exists.");

        let got = env.ok("GetGroup", json!({"GroupName": "admins"}));
        assert_eq!(got["Group"]["GroupName"], "Admins");
        assert_eq!(got["Group"]["GroupId"], id.as_str());
        assert_eq!(got["Users"], json!([]));
        assert_eq!(got["IsTruncated"], json!(false));

        let default_path = env.ok("CreateGroup", json!({"GroupName": "devs"}));
        assert_eq!(default_path["Group"]["Path"], "/");
        assert_eq!(
            default_path["Group"]["Arn"],
            "arn:aws:iam::123456789012:group/devs"
        );

        env.ok("DeleteGroup", json!({"GroupName": "admins"}));
        let (code, msg) = env.err("GetGroup", json!({"GroupName": "Admins"}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The group with name Admins cannot be found.");
        let (code, msg) = env.err("DeleteGroup", json!({"GroupName": "unknown-group"}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The group with name unknown-group cannot be found.");
    }

    #[test]
    fn membership_add_remove_and_list_both_ways() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "alice", "Path": "/eng/"}));
        env.ok("CreateUser", json!({"UserName": "bob"}));
        env.ok("CreateGroup", json!({"GroupName": "g1"}));
        env.ok("CreateGroup", json!({"GroupName": "g2"}));

        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "G1", "UserName": "ALICE"}),
        );
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "g1", "UserName": "alice"}),
        );
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "g1", "UserName": "bob"}),
        );
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "g2", "UserName": "alice"}),
        );

        let g1 = env.ok("GetGroup", json!({"GroupName": "g1"}));
        assert_eq!(names(&g1, "Users", "UserName"), ["alice", "bob"]);
        assert_eq!(
            g1["Users"][0]["Arn"],
            "arn:aws:iam::123456789012:user/eng/alice"
        );
        assert!(g1["Users"][0].get("Tags").is_none());

        let mine = env.ok("ListGroupsForUser", json!({"UserName": "alice"}));
        assert_eq!(names(&mine, "Groups", "GroupName"), ["g1", "g2"]);
        assert_eq!(mine["IsTruncated"], json!(false));

        env.ok(
            "RemoveUserFromGroup",
            json!({"GroupName": "g1", "UserName": "alice"}),
        );
        // Removing a user who is no longer a member succeeds, as in IAM.
        env.ok(
            "RemoveUserFromGroup",
            json!({"GroupName": "g1", "UserName": "alice"}),
        );
        let g1 = env.ok("GetGroup", json!({"GroupName": "g1"}));
        assert_eq!(names(&g1, "Users", "UserName"), ["bob"]);
        let mine = env.ok("ListGroupsForUser", json!({"UserName": "alice"}));
        assert_eq!(names(&mine, "Groups", "GroupName"), ["g2"]);
    }

    #[test]
    fn membership_errors_name_the_missing_entity() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        env.ok("CreateGroup", json!({"GroupName": "g"}));
        let cases = [
            (
                "AddUserToGroup",
                json!({"GroupName": "g", "UserName": "nonexistent-user"}),
                "The user with name nonexistent-user cannot be found.",
            ),
            (
                "AddUserToGroup",
                json!({"GroupName": "nonexistent-group", "UserName": "u"}),
                "The group with name nonexistent-group cannot be found.",
            ),
            (
                "RemoveUserFromGroup",
                json!({"GroupName": "nonexistent-group", "UserName": "u"}),
                "The group with name nonexistent-group cannot be found.",
            ),
            // Both missing: IAM reports the user.
            (
                "RemoveUserFromGroup",
                json!({"GroupName": "non-existent-group", "UserName": "any-user"}),
                "The user with name any-user cannot be found.",
            ),
            (
                "ListGroupsForUser",
                json!({"UserName": "ghost"}),
                "The user with name ghost cannot be found.",
            ),
        ];
        for (op, input, message) in cases {
            let (code, msg) = env.err(op, input);
            assert_eq!(code, "NoSuchEntity", "{op}");
            assert_eq!(msg, message, "{op}");
        }
    }

    #[test]
    fn a_user_is_in_at_most_ten_groups() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        for n in 0..11 {
            env.ok("CreateGroup", json!({"GroupName": format!("g{n:02}")}));
        }
        for n in 0..10 {
            env.ok(
                "AddUserToGroup",
                json!({"GroupName": format!("g{n:02}"), "UserName": "u"}),
            );
        }
        // Re-adding an existing membership is a no-op, not a quota breach.
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "g00", "UserName": "u"}),
        );
        let (code, msg) = env.err(
            "AddUserToGroup",
            json!({"GroupName": "g10", "UserName": "u"}),
        );
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for GroupsPerUser: 10");
    }

    #[test]
    fn groups_per_account_quota() {
        let env = Env::new();
        env.iam
            .store()
            .write(|tx| {
                for n in 0..super::MAX_GROUPS {
                    let name = format!("g{n}");
                    tx.put(
                        "123456789012",
                        &name,
                        &crate::records::GroupRecord {
                            arn: format!("arn:aws:iam::123456789012:group/{name}"),
                            name: name.clone(),
                            id: format!("AGPA{n:017}"),
                            path: "/".into(),
                            create_date: 0,
                        },
                    )?;
                }
                Ok::<_, crate::IamError>(())
            })
            .unwrap();
        let (code, msg) = env.err("CreateGroup", json!({"GroupName": "one-too-many"}));
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for GroupsPerAccount: 300");
    }

    #[test]
    fn list_groups_paginates_and_filters_by_path() {
        let env = Env::new();
        for n in 0..5 {
            let path = if n % 2 == 0 { "/even/" } else { "/odd/" };
            env.ok(
                "CreateGroup",
                json!({"GroupName": format!("grp{n}"), "Path": path}),
            );
        }
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut input = json!({"MaxItems": 2});
            if let Some(m) = &marker {
                input["Marker"] = json!(m);
            }
            let page = env.ok("ListGroups", input);
            seen.extend(names(&page, "Groups", "GroupName"));
            if page["IsTruncated"] == json!(true) {
                marker = Some(page["Marker"].as_str().unwrap().to_owned());
            } else {
                assert!(page.get("Marker").is_none());
                break;
            }
        }
        assert_eq!(seen, ["grp0", "grp1", "grp2", "grp3", "grp4"]);
        let even = env.ok("ListGroups", json!({"PathPrefix": "/even/"}));
        assert_eq!(
            names(&even, "Groups", "GroupName"),
            ["grp0", "grp2", "grp4"]
        );
        let (code, _) = env.err("ListGroups", json!({"Marker": "nope"}));
        assert_eq!(code, "InvalidInput");
    }

    #[test]
    fn get_group_and_list_groups_for_user_paginate() {
        let env = Env::new();
        env.ok("CreateGroup", json!({"GroupName": "big"}));
        for n in 0..5 {
            env.ok("CreateUser", json!({"UserName": format!("u{n}")}));
            env.ok(
                "AddUserToGroup",
                json!({"GroupName": "big", "UserName": format!("u{n}")}),
            );
        }
        let first = env.ok("GetGroup", json!({"GroupName": "big", "MaxItems": 3}));
        assert_eq!(names(&first, "Users", "UserName"), ["u0", "u1", "u2"]);
        assert_eq!(first["IsTruncated"], json!(true));
        let rest = env.ok(
            "GetGroup",
            json!({"GroupName": "big", "MaxItems": 3, "Marker": first["Marker"]}),
        );
        assert_eq!(names(&rest, "Users", "UserName"), ["u3", "u4"]);
        assert_eq!(rest["IsTruncated"], json!(false));

        for n in 0..3 {
            env.ok("CreateGroup", json!({"GroupName": format!("x{n}")}));
            env.ok(
                "AddUserToGroup",
                json!({"GroupName": format!("x{n}"), "UserName": "u0"}),
            );
        }
        let first = env.ok(
            "ListGroupsForUser",
            json!({"UserName": "u0", "MaxItems": 2}),
        );
        assert_eq!(names(&first, "Groups", "GroupName"), ["big", "x0"]);
        let rest = env.ok(
            "ListGroupsForUser",
            json!({"UserName": "u0", "MaxItems": 2, "Marker": first["Marker"]}),
        );
        assert_eq!(names(&rest, "Groups", "GroupName"), ["x1", "x2"]);
        assert_eq!(rest["IsTruncated"], json!(false));
    }

    #[test]
    fn delete_group_refuses_while_anything_refers_to_it() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        env.ok("CreateGroup", json!({"GroupName": "g"}));
        env.ok("AddUserToGroup", json!({"GroupName": "g", "UserName": "u"}));
        let (code, msg) = env.err("DeleteGroup", json!({"GroupName": "g"}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(
            msg,
            "Cannot delete entity, must remove users from group first."
        );
        env.ok(
            "RemoveUserFromGroup",
            json!({"GroupName": "g", "UserName": "u"}),
        );

        let arn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
        put_attachment(&env, "g", arn);
        let (code, msg) = env.err("DeleteGroup", json!({"GroupName": "g"}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete entity, must detach all policies first.");
        env.iam
            .store()
            .write(|tx| {
                tx.delete::<AttachedPolicyRecord>("123456789012", &format!("group/g/{arn}"))?;
                tx.put(
                    "123456789012",
                    "group/g/inline",
                    &InlinePolicyRecord {
                        policy_name: "inline".into(),
                        document: "{}".into(),
                    },
                )?;
                Ok::<_, crate::IamError>(())
            })
            .unwrap();
        let (code, msg) = env.err("DeleteGroup", json!({"GroupName": "g"}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete entity, must delete policies first.");
        env.iam
            .store()
            .write(|tx| {
                tx.delete::<InlinePolicyRecord>("123456789012", "group/g/inline")?;
                Ok::<_, crate::IamError>(())
            })
            .unwrap();
        env.ok("DeleteGroup", json!({"GroupName": "g"}));
    }

    /// Writes an attachment the way attachments.rs does (both directions).
    fn put_attachment(env: &Env, group: &str, arn: &str) {
        let lc = name_key(group);
        env.iam
            .store()
            .write(|tx| {
                tx.put(
                    "123456789012",
                    &format!("group/{lc}/{arn}"),
                    &AttachedPolicyRecord {
                        policy_name: arn.rsplit('/').next().unwrap().into(),
                        policy_arn: arn.into(),
                    },
                )?;
                tx.put(
                    "123456789012",
                    &format!("{arn}|group|{lc}"),
                    &PolicyAttachmentRecord {
                        entity_kind: EntityKind::Group,
                        entity_name: group.into(),
                        entity_id: "AGPA".into(),
                    },
                )?;
                Ok::<_, crate::IamError>(())
            })
            .unwrap();
    }

    #[test]
    fn rename_moves_memberships_policies_and_arn() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        let created = env.ok("CreateGroup", json!({"GroupName": "old", "Path": "/a/"}));
        env.ok("CreateGroup", json!({"GroupName": "taken"}));
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "old", "UserName": "u"}),
        );
        let arn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
        put_attachment(&env, "old", arn);
        env.iam
            .store()
            .write(|tx| {
                tx.put(
                    "123456789012",
                    "group/old/p1",
                    &InlinePolicyRecord {
                        policy_name: "p1".into(),
                        document: "{}".into(),
                    },
                )?;
                Ok::<_, crate::IamError>(())
            })
            .unwrap();

        let (code, msg) = env.err(
            "UpdateGroup",
            json!({"GroupName": "old", "NewGroupName": "TAKEN"}),
        );
        assert_eq!(code, "EntityAlreadyExists");
        assert_eq!(msg, "Group with name TAKEN already exists.");
        let (code, msg) = env.err(
            "UpdateGroup",
            json!({"GroupName": "nonexisting", "NewGroupName": "new-name"}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The group with name nonexisting cannot be found.");

        env.ok(
            "UpdateGroup",
            json!({"GroupName": "OLD", "NewGroupName": "New", "NewPath": "/b/"}),
        );
        assert_eq!(
            env.err("GetGroup", json!({"GroupName": "old"})).0,
            "NoSuchEntity"
        );
        let got = env.ok("GetGroup", json!({"GroupName": "new"}));
        assert_eq!(got["Group"]["GroupName"], "New");
        assert_eq!(got["Group"]["Path"], "/b/");
        assert_eq!(got["Group"]["Arn"], "arn:aws:iam::123456789012:group/b/New");
        assert_eq!(got["Group"]["GroupId"], created["Group"]["GroupId"]);
        assert_eq!(names(&got, "Users", "UserName"), ["u"]);
        let mine = env.ok("ListGroupsForUser", json!({"UserName": "u"}));
        assert_eq!(names(&mine, "Groups", "GroupName"), ["New"]);

        env.iam
            .store()
            .read(|tx| {
                let acct = "123456789012";
                assert!(tx
                    .get::<AttachedPolicyRecord>(acct, &format!("group/old/{arn}"))?
                    .is_none());
                assert!(tx
                    .get::<AttachedPolicyRecord>(acct, &format!("group/new/{arn}"))?
                    .is_some());
                assert!(tx
                    .get::<PolicyAttachmentRecord>(acct, &format!("{arn}|group|old"))?
                    .is_none());
                let att = tx
                    .get::<PolicyAttachmentRecord>(acct, &format!("{arn}|group|new"))?
                    .unwrap();
                assert_eq!(att.entity_name, "New");
                assert!(tx
                    .get::<InlinePolicyRecord>(acct, "group/old/p1")?
                    .is_none());
                assert!(tx
                    .get::<InlinePolicyRecord>(acct, "group/new/p1")?
                    .is_some());
                Ok::<_, crate::IamError>(())
            })
            .unwrap();

        // A case-only rename keeps every key and updates the names.
        env.ok(
            "UpdateGroup",
            json!({"GroupName": "new", "NewGroupName": "NEW"}),
        );
        let mine = env.ok("ListGroupsForUser", json!({"UserName": "u"}));
        assert_eq!(names(&mine, "Groups", "GroupName"), ["NEW"]);
        let got = env.ok("GetGroup", json!({"GroupName": "new"}));
        assert_eq!(names(&got, "Users", "UserName"), ["u"]);

        // Path only.
        env.ok("UpdateGroup", json!({"GroupName": "new", "NewPath": "/c/"}));
        let got = env.ok("GetGroup", json!({"GroupName": "NEW"}));
        assert_eq!(got["Group"]["Arn"], "arn:aws:iam::123456789012:group/c/NEW");
    }

    #[test]
    fn a_renamed_user_keeps_their_groups() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "before"}));
        env.ok("CreateGroup", json!({"GroupName": "g"}));
        env.ok(
            "AddUserToGroup",
            json!({"GroupName": "g", "UserName": "before"}),
        );
        env.ok(
            "UpdateUser",
            json!({"UserName": "before", "NewUserName": "after"}),
        );
        let got = env.ok("GetGroup", json!({"GroupName": "g"}));
        assert_eq!(names(&got, "Users", "UserName"), ["after"]);
        let mine = env.ok("ListGroupsForUser", json!({"UserName": "after"}));
        assert_eq!(names(&mine, "Groups", "GroupName"), ["g"]);
    }
}
