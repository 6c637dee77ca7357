//! IAM users.

use moat_store::{Reader, Writer};
use moat_types::{iam_path_arn, new_unique_id, AccountId, IdKind};

use crate::common::{
    matches_path_prefix, merge_tags, paginate, path_or_default, remove_tags, tags_from, timestamp,
    wire_tags, wire_tags_opt, Call,
};
use crate::records::{
    name_key, AccessKeyRecord, AttachedPolicyRecord, EntityKind, GroupMemberRecord,
    InlinePolicyRecord, LoginProfileRecord, UserAccessKeyRecord, UserGroupRecord, UserRecord,
};
use crate::{
    attachments, AttachedPermissionsBoundary, CreateUserRequest, CreateUserResponse,
    DeleteUserRequest, GetUserRequest, GetUserResponse, IamError, ListUserTagsRequest,
    ListUserTagsResponse, ListUsersRequest, ListUsersResponse, TagUserRequest, UntagUserRequest,
    UpdateUserRequest, User,
};

/// IAM's default quota of users per account.
pub const MAX_USERS: u64 = 5_000;

pub fn find(
    tx: &impl Reader,
    account: AccountId,
    name: &str,
) -> Result<Option<UserRecord>, IamError> {
    Ok(tx.get::<UserRecord>(&account.to_string(), &name_key(name))?)
}

pub fn require(tx: &impl Reader, account: AccountId, name: &str) -> Result<UserRecord, IamError> {
    find(tx, account, name)?.ok_or_else(|| IamError::no_such_user(name))
}

pub fn wire_user(u: &UserRecord, with_details: bool) -> User {
    User {
        user_name: u.name.clone(),
        user_id: u.id.clone(),
        path: u.path.clone(),
        arn: u.arn.clone(),
        create_date: timestamp(u.create_date),
        password_last_used: u.password_last_used.map(timestamp),
        tags: if with_details {
            wire_tags_opt(&u.tags)
        } else {
            None
        },
        permissions_boundary: if with_details {
            u.permissions_boundary.as_deref().map(boundary)
        } else {
            None
        },
    }
}

pub fn boundary(arn: &str) -> AttachedPermissionsBoundary {
    AttachedPermissionsBoundary {
        permissions_boundary_arn: Some(arn.to_owned()),
        permissions_boundary_type: Some("PermissionsBoundaryPolicy".to_owned()),
    }
}

pub fn create_user(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateUserRequest,
) -> Result<CreateUserResponse, IamError> {
    let account = c.account_key();
    let key = name_key(&i.user_name);
    if tx.exists::<UserRecord>(&account, &key)? {
        return Err(IamError::EntityAlreadyExists(format!(
            "User with name {} already exists.",
            i.user_name
        )));
    }
    if tx.count(<UserRecord as moat_store::Record>::KIND, &account, "")? >= MAX_USERS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for UsersPerAccount: {MAX_USERS}"
        )));
    }
    let tags = tags_from(i.tags.as_ref())?;
    let path = path_or_default(i.path.as_deref());
    let record = UserRecord {
        arn: iam_path_arn(c.account, "user", &path, &i.user_name),
        name: i.user_name,
        id: new_unique_id(IdKind::User),
        path,
        create_date: c.now_ms(),
        tags,
        permissions_boundary: None,
        password_last_used: None,
    };
    let mut record = record;
    if let Some(arn) = i.permissions_boundary {
        attachments::set_boundary(tx, c, EntityKind::User, &record.name, &arn)?;
        record.permissions_boundary = Some(arn);
    }
    tx.put(&account, &key, &record)?;
    Ok(CreateUserResponse {
        user: Some(wire_user(&record, true)),
    })
}

pub fn get_user(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetUserRequest,
) -> Result<GetUserResponse, IamError> {
    let Some(name) = c.implicit_user(i.user_name.as_deref())? else {
        // The root user has no IAM user record; AWS answers with the account's identity.
        let created = tx
            .get::<crate::records::AccountRecord>(moat_store::GLOBAL, &c.account_key())?
            .map_or(0, |a| a.create_date);
        return Ok(GetUserResponse {
            user: User {
                user_id: c.account_key(),
                arn: c.principal.arn.clone(),
                create_date: timestamp(created),
                ..User::default()
            },
        });
    };
    let u = require(tx, c.account, &name)?;
    Ok(GetUserResponse {
        user: wire_user(&u, true),
    })
}

pub fn update_user(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateUserRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let mut u = require(tx, c.account, &i.user_name)?;
    let old_key = name_key(&u.name);
    if let Some(path) = i.new_path {
        u.path = path;
    }
    let renamed = i.new_user_name.filter(|n| *n != u.name);
    if let Some(new_name) = &renamed {
        let new_key = name_key(new_name);
        if new_key != old_key && tx.exists::<UserRecord>(&account, &new_key)? {
            return Err(IamError::EntityAlreadyExists(format!(
                "User with name {new_name} already exists."
            )));
        }
        rename_references(tx, c, &u.name, new_name)?;
        u.name.clone_from(new_name);
    }
    u.arn = iam_path_arn(c.account, "user", &u.path, &u.name);
    tx.delete::<UserRecord>(&account, &old_key)?;
    tx.put(&account, &name_key(&u.name), &u)?;
    Ok(())
}

/// Moves every record that refers to a user by name to its new name, in the same transaction.
fn rename_references(
    tx: &mut impl Writer,
    c: &Call<'_>,
    old: &str,
    new: &str,
) -> Result<(), IamError> {
    let account = c.account_key();
    let (old_lc, new_lc) = (name_key(old), name_key(new));

    for (key, m) in tx.all::<UserGroupRecord>(&account, &format!("{old_lc}/"))? {
        let group_lc = name_key(&m.group_name);
        tx.delete::<UserGroupRecord>(&account, &key)?;
        tx.put(&account, &format!("{new_lc}/{group_lc}"), &m)?;
        tx.delete::<GroupMemberRecord>(&account, &format!("{group_lc}/{old_lc}"))?;
        tx.put(
            &account,
            &format!("{group_lc}/{new_lc}"),
            &GroupMemberRecord {
                user_name: new.to_owned(),
            },
        )?;
    }
    crate::common::move_entity_policies(tx, &account, EntityKind::User, &old_lc, &new_lc, new)?;
    crate::mfa::rename_owner(tx, c.account, old, new)?;
    for (key, k) in tx.all::<UserAccessKeyRecord>(&account, &format!("{old_lc}/"))? {
        tx.delete::<UserAccessKeyRecord>(&account, &key)?;
        tx.put(&account, &format!("{new_lc}/{}", k.access_key_id), &k)?;
        if let Some(mut key_record) =
            tx.get::<AccessKeyRecord>(moat_store::GLOBAL, &k.access_key_id)?
        {
            key_record.user_name = Some(new.to_owned());
            tx.put(moat_store::GLOBAL, &k.access_key_id, &key_record)?;
        }
    }
    if let Some(profile) = tx.get::<LoginProfileRecord>(&account, &old_lc)? {
        tx.delete::<LoginProfileRecord>(&account, &old_lc)?;
        tx.put(&account, &new_lc, &profile)?;
    }
    if let Some(u) = find(tx, c.account, old)? {
        if let Some(arn) = &u.permissions_boundary {
            attachments::clear_boundary(tx, c, EntityKind::User, old, arn)?;
            attachments::set_boundary(tx, c, EntityKind::User, new, arn)?;
        }
    }
    Ok(())
}

pub fn delete_user(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteUserRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let u = require(tx, c.account, &i.user_name)?;
    let key = name_key(&u.name);
    let conflict = |what: &str| {
        Err(IamError::DeleteConflict(format!(
            "Cannot delete entity, must {what} first."
        )))
    };
    if tx.exists::<LoginProfileRecord>(&account, &key)? {
        return conflict("delete login profile");
    }
    if !tx
        .all::<UserAccessKeyRecord>(&account, &format!("{key}/"))?
        .is_empty()
    {
        return conflict("delete access keys");
    }
    if crate::mfa::user_has_devices(tx, c.account, &u.name)? {
        return conflict("delete MFA device");
    }
    if !tx
        .all::<UserGroupRecord>(&account, &format!("{key}/"))?
        .is_empty()
    {
        return conflict("remove user from all groups");
    }
    if !tx
        .all::<AttachedPolicyRecord>(&account, &format!("user/{key}/"))?
        .is_empty()
    {
        return conflict("detach all policies");
    }
    if !tx
        .all::<InlinePolicyRecord>(&account, &format!("user/{key}/"))?
        .is_empty()
    {
        return conflict("delete policies");
    }
    if let Some(arn) = &u.permissions_boundary {
        attachments::clear_boundary(tx, c, EntityKind::User, &u.name, arn)?;
    }
    tx.delete::<UserRecord>(&account, &key)?;
    Ok(())
}

pub fn list_users(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListUsersRequest,
) -> Result<ListUsersResponse, IamError> {
    let prefix = i.path_prefix.as_deref();
    let page = paginate::<UserRecord>(
        tx,
        &c.account_key(),
        "",
        i.marker.as_deref(),
        i.max_items,
        &mut |_, u| matches_path_prefix(&u.path, prefix),
    )?;
    Ok(ListUsersResponse {
        users: page.items.iter().map(|u| wire_user(u, false)).collect(),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

pub fn tag_user(tx: &mut impl Writer, c: &Call<'_>, i: TagUserRequest) -> Result<(), IamError> {
    let mut u = require(tx, c.account, &i.user_name)?;
    merge_tags(&mut u.tags, &i.tags)?;
    tx.put(&c.account_key(), &name_key(&u.name), &u)?;
    Ok(())
}

pub fn untag_user(tx: &mut impl Writer, c: &Call<'_>, i: UntagUserRequest) -> Result<(), IamError> {
    let mut u = require(tx, c.account, &i.user_name)?;
    remove_tags(&mut u.tags, &i.tag_keys);
    tx.put(&c.account_key(), &name_key(&u.name), &u)?;
    Ok(())
}

pub fn list_user_tags(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListUserTagsRequest,
) -> Result<ListUserTagsResponse, IamError> {
    let u = require(tx, c.account, &i.user_name)?;
    let (tags, is_truncated, marker) =
        crate::common::paginate_vec(wire_tags(&u.tags), i.marker.as_deref(), i.max_items)?;
    Ok(ListUserTagsResponse {
        tags,
        is_truncated: Some(is_truncated),
        marker,
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::Env;
    use serde_json::json;

    #[test]
    fn user_lifecycle() {
        let env = Env::new();
        let out = env.ok(
            "CreateUser",
            json!({"UserName": "alice", "Path": "/eng/",
            "Tags": [{"Key": "team", "Value": "core"}]}),
        );
        assert_eq!(
            out["User"]["Arn"],
            "arn:aws:iam::123456789012:user/eng/alice"
        );
        assert!(out["User"]["UserId"].as_str().unwrap().starts_with("AIDA"));
        let (code, msg) = env.err("CreateUser", json!({"UserName": "ALICE"}));
        assert_eq!(code, "EntityAlreadyExists");
        assert_eq!(msg, "User with name ALICE already exists.");

        let got = env.ok("GetUser", json!({"UserName": "Alice"}));
        assert_eq!(got["User"]["UserName"], "alice");
        assert_eq!(got["User"]["Tags"][0]["Key"], "team");

        env.ok(
            "UpdateUser",
            json!({"UserName": "alice", "NewUserName": "alicia", "NewPath": "/ops/"}),
        );
        let got = env.ok("GetUser", json!({"UserName": "alicia"}));
        assert_eq!(
            got["User"]["Arn"],
            "arn:aws:iam::123456789012:user/ops/alicia"
        );
        assert_eq!(
            env.err("GetUser", json!({"UserName": "alice"})).0,
            "NoSuchEntity"
        );

        env.ok("DeleteUser", json!({"UserName": "alicia"}));
        let (code, msg) = env.err("DeleteUser", json!({"UserName": "alicia"}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "The user with name alicia cannot be found.");
    }

    #[test]
    fn list_users_paginates_and_filters_by_path() {
        let env = Env::new();
        for i in 0..7 {
            let path = if i % 2 == 0 { "/even/" } else { "/odd/" };
            env.ok(
                "CreateUser",
                json!({"UserName": format!("u{i}"), "Path": path}),
            );
        }
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut input = json!({"MaxItems": 3});
            if let Some(m) = &marker {
                input["Marker"] = json!(m);
            }
            let page = env.ok("ListUsers", input);
            for u in page["Users"].as_array().unwrap() {
                names.push(u["UserName"].as_str().unwrap().to_owned());
                assert!(u.get("Tags").is_none());
            }
            if page["IsTruncated"] == json!(true) {
                marker = Some(page["Marker"].as_str().unwrap().to_owned());
            } else {
                assert!(page.get("Marker").is_none());
                break;
            }
        }
        assert_eq!(names, ["u0", "u1", "u2", "u3", "u4", "u5", "u6"]);
        let even = env.ok("ListUsers", json!({"PathPrefix": "/even/"}));
        assert_eq!(even["Users"].as_array().unwrap().len(), 4);
        assert_eq!(
            env.err("ListUsers", json!({"Marker": "bogus"})).0,
            "InvalidInput"
        );
    }

    #[test]
    fn tags_add_replace_remove() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "bob"}));
        env.ok("TagUser", json!({"UserName": "bob", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}));
        env.ok(
            "TagUser",
            json!({"UserName": "bob", "Tags": [{"Key": "A", "Value": "3"}]}),
        );
        let tags = env.ok("ListUserTags", json!({"UserName": "bob"}));
        assert_eq!(
            tags["Tags"],
            json!([{"Key": "A", "Value": "3"}, {"Key": "b", "Value": "2"}])
        );
        env.ok("UntagUser", json!({"UserName": "bob", "TagKeys": ["a"]}));
        let tags = env.ok("ListUserTags", json!({"UserName": "bob", "MaxItems": 1}));
        assert_eq!(tags["Tags"], json!([{"Key": "b", "Value": "2"}]));
        assert_eq!(tags["IsTruncated"], json!(false));
    }
}
