//! Permissions boundaries of users and roles: the managed policy that caps what their
//! identity-based policies can grant.

use moat_store::Writer;

use crate::common::Call;
use crate::records::{name_key, EntityKind};
use crate::{
    attachments, roles, users, DeleteRolePermissionsBoundaryRequest,
    DeleteUserPermissionsBoundaryRequest, IamError, PutRolePermissionsBoundaryRequest,
    PutUserPermissionsBoundaryRequest,
};

/// Replacing a boundary moves its usage record, so PermissionsBoundaryUsageCount and
/// DeletePolicy's conflict check stay exact.
fn replace(
    tx: &mut impl Writer,
    c: &Call<'_>,
    kind: EntityKind,
    name: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), IamError> {
    if let Some(new) = new {
        // Checked first: an unknown policy must leave the old boundary in place.
        attachments::set_boundary(tx, c, kind, name, new)?;
    }
    if let Some(old) = old.filter(|o| Some(*o) != new) {
        attachments::clear_boundary(tx, c, kind, name, old)?;
    }
    Ok(())
}

pub fn put_user_permissions_boundary(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: PutUserPermissionsBoundaryRequest,
) -> Result<(), IamError> {
    let mut u = users::require(tx, c.account, &i.user_name)?;
    let old = u.permissions_boundary.take();
    replace(
        tx,
        c,
        EntityKind::User,
        &u.name,
        old.as_deref(),
        Some(&i.permissions_boundary),
    )?;
    u.permissions_boundary = Some(i.permissions_boundary);
    tx.put(&c.account_key(), &name_key(&u.name), &u)?;
    Ok(())
}

pub fn delete_user_permissions_boundary(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteUserPermissionsBoundaryRequest,
) -> Result<(), IamError> {
    let mut u = users::require(tx, c.account, &i.user_name)?;
    let old = u.permissions_boundary.take();
    replace(tx, c, EntityKind::User, &u.name, old.as_deref(), None)?;
    tx.put(&c.account_key(), &name_key(&u.name), &u)?;
    Ok(())
}

pub fn put_role_permissions_boundary(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: PutRolePermissionsBoundaryRequest,
) -> Result<(), IamError> {
    let mut r = roles::require_modifiable(tx, c.account, &i.role_name)?;
    let old = r.permissions_boundary.take();
    replace(
        tx,
        c,
        EntityKind::Role,
        &r.name,
        old.as_deref(),
        Some(&i.permissions_boundary),
    )?;
    r.permissions_boundary = Some(i.permissions_boundary);
    tx.put(&c.account_key(), &name_key(&r.name), &r)?;
    Ok(())
}

pub fn delete_role_permissions_boundary(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteRolePermissionsBoundaryRequest,
) -> Result<(), IamError> {
    let mut r = roles::require_modifiable(tx, c.account, &i.role_name)?;
    let old = r.permissions_boundary.take();
    replace(tx, c, EntityKind::Role, &r.name, old.as_deref(), None)?;
    tx.put(&c.account_key(), &name_key(&r.name), &r)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::Env;
    use serde_json::json;

    const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    const IAM_READ: &str = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";

    fn usage(env: &Env, arn: &str) -> serde_json::Value {
        env.ok("GetPolicy", json!({"PolicyArn": arn}))["Policy"]["PermissionsBoundaryUsageCount"]
            .clone()
    }

    #[test]
    fn user_boundary_is_set_replaced_and_removed() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "ann"}));
        env.ok(
            "PutUserPermissionsBoundary",
            json!({"UserName": "ann", "PermissionsBoundary": READ_ONLY}),
        );
        let u = env.ok("GetUser", json!({"UserName": "ann"}));
        assert_eq!(
            u["User"]["PermissionsBoundary"],
            json!({"PermissionsBoundaryArn": READ_ONLY, "PermissionsBoundaryType": "PermissionsBoundaryPolicy"})
        );
        assert_eq!(usage(&env, READ_ONLY), json!(1));

        env.ok(
            "PutUserPermissionsBoundary",
            json!({"UserName": "ann", "PermissionsBoundary": IAM_READ}),
        );
        assert_eq!(usage(&env, READ_ONLY), json!(0));
        assert_eq!(usage(&env, IAM_READ), json!(1));

        let (code, _) = env.err(
            "PutUserPermissionsBoundary",
            json!({"UserName": "ann", "PermissionsBoundary": "arn:aws:iam::aws:policy/Nope"}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(
            usage(&env, IAM_READ),
            json!(1),
            "a failed put keeps the old boundary"
        );

        // A rename keeps the boundary and its usage count exact.
        env.ok(
            "UpdateUser",
            json!({"UserName": "ann", "NewUserName": "anne"}),
        );
        assert_eq!(usage(&env, IAM_READ), json!(1));
        env.ok(
            "UpdateUser",
            json!({"UserName": "anne", "NewUserName": "ann"}),
        );
        env.ok("DeleteUserPermissionsBoundary", json!({"UserName": "ann"}));
        let u = env.ok("GetUser", json!({"UserName": "ann"}));
        assert!(u["User"].get("PermissionsBoundary").is_none());
        assert_eq!(usage(&env, IAM_READ), json!(0));
        // Deleting again is harmless, as in IAM.
        env.ok("DeleteUserPermissionsBoundary", json!({"UserName": "ann"}));
        let (code, _) = env.err(
            "DeleteUserPermissionsBoundary",
            json!({"UserName": "nobody"}),
        );
        assert_eq!(code, "NoSuchEntity");
    }

    #[test]
    fn role_boundary_blocks_policy_deletion_until_removed() {
        let env = Env::new();
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let arn = env.ok(
            "CreatePolicy",
            json!({"PolicyName": "cap", "PolicyDocument": doc}),
        )["Policy"]["Arn"]
            .as_str()
            .unwrap()
            .to_owned();
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        env.ok(
            "CreateRole",
            json!({"RoleName": "app", "AssumeRolePolicyDocument": trust}),
        );
        env.ok(
            "PutRolePermissionsBoundary",
            json!({"RoleName": "app", "PermissionsBoundary": arn}),
        );
        let role = env.ok("GetRole", json!({"RoleName": "app"}));
        assert_eq!(
            role["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"],
            json!(arn)
        );
        assert_eq!(
            env.err("DeletePolicy", json!({"PolicyArn": arn})).0,
            "DeleteConflict"
        );
        env.ok("DeleteRolePermissionsBoundary", json!({"RoleName": "app"}));
        env.ok("DeletePolicy", json!({"PolicyArn": arn}));
    }
}
