//! ACLs on the wire: canned ACLs (`x-amz-acl`), grant headers (`x-amz-grant-*`) and the
//! `AccessControlPolicy` XML turned into the store's grants and back; Get/PutBucketAcl and
//! Get/PutObjectAcl; and the checks S3 makes before it sets an ACL (`BlockPublicAcls`, an
//! `ObjectOwnership` of `BucketOwnerEnforced`).

use s3s::dto::{self, AccessControlPolicy, Grants};
use s3s::{S3Error, S3ErrorCode, S3Response, S3Result, s3_error};

use super::access::BucketAccess;
use crate::store::{Acl, Grant, Grantee, Permission, Store};

/// The group of everyone, signed or not.
pub(crate) const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group of every signed request, from any account.
pub(crate) const AUTHENTICATED_USERS: &str =
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// The group S3 server access logs are written as.
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// The canonical user id of the store's one owner (the key pair's account).
pub(crate) const OWNER_ID: &str = "esb";

/// The owner as S3 shows it.
pub(crate) fn owner() -> dto::Owner {
    dto::Owner {
        display_name: Some(OWNER_ID.into()),
        id: Some(OWNER_ID.into()),
    }
}

fn grant(grantee: Grantee, permission: Permission) -> Grant {
    Grant {
        grantee,
        permission,
    }
}

fn owner_grantee() -> Grantee {
    Grantee::CanonicalUser {
        id: OWNER_ID.into(),
        display_name: Some(OWNER_ID.into()),
    }
}

fn group(uri: &str) -> Grantee {
    Grantee::Group { uri: uri.into() }
}

/// The grants of a canned ACL (one owner, so the `bucket-owner-*` ones are `private`).
fn canned(name: &str) -> S3Result<Acl> {
    let mut acl = vec![grant(owner_grantee(), Permission::FullControl)];
    match name {
        "private" | "bucket-owner-full-control" | "bucket-owner-read" | "aws-exec-read" => {}
        "public-read" => acl.push(grant(group(ALL_USERS), Permission::Read)),
        "public-read-write" => {
            acl.push(grant(group(ALL_USERS), Permission::Read));
            acl.push(grant(group(ALL_USERS), Permission::Write));
        }
        "authenticated-read" => acl.push(grant(group(AUTHENTICATED_USERS), Permission::Read)),
        "log-delivery-write" => {
            acl.push(grant(group(LOG_DELIVERY), Permission::Write));
            acl.push(grant(group(LOG_DELIVERY), Permission::ReadAcp));
        }
        _ => return Err(s3_error!(InvalidArgument, "Invalid canned ACL {name:?}")),
    }
    Ok(acl)
}

/// The grantees of one `x-amz-grant-*` header: `id="…"`, `uri="…"` or `emailAddress="…"`,
/// comma-separated.
fn grantees(header: &str) -> S3Result<Vec<Grantee>> {
    let mut out = Vec::new();
    for item in header.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (kind, value) = item
            .split_once('=')
            .ok_or_else(|| s3_error!(InvalidArgument, "Invalid grant header value {item:?}"))?;
        let value = value.trim().trim_matches('"');
        match kind.trim().to_ascii_lowercase().as_str() {
            "id" => out.push(Grantee::CanonicalUser {
                id: value.into(),
                display_name: None,
            }),
            "uri" => out.push(known_group(value)?),
            "emailaddress" => return Err(unresolvable_email()),
            _ => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Invalid grant header value {item:?}"
                ));
            }
        }
    }
    Ok(out)
}

fn known_group(uri: &str) -> S3Result<Grantee> {
    if [ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY].contains(&uri) {
        Ok(group(uri))
    } else {
        Err(s3_error!(InvalidArgument, "Invalid group uri"))
    }
}

fn unresolvable_email() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::UnresolvableGrantByEmailAddress,
        "The email address you provided does not match any account on record.",
    )
}

/// The ACL a write asks for with `x-amz-acl` or `x-amz-grant-*` headers.
#[derive(Debug, Default)]
pub(crate) struct AclHeaders<'a> {
    pub(crate) canned: Option<&'a str>,
    pub(crate) full_control: Option<&'a str>,
    pub(crate) read: Option<&'a str>,
    pub(crate) read_acp: Option<&'a str>,
    pub(crate) write: Option<&'a str>,
    pub(crate) write_acp: Option<&'a str>,
}

/// The [`AclHeaders`] of `$input`; s3s gives each write its own type with the same fields,
/// so a macro reads them. `write` for the inputs that have `x-amz-grant-write` (buckets and
/// PutObjectAcl).
macro_rules! acl_headers {
    ($input:ident) => {
        $crate::service::acl::AclHeaders {
            canned: $input.acl.as_ref().map(|a| a.as_str()),
            full_control: $input.grant_full_control.as_deref(),
            read: $input.grant_read.as_deref(),
            read_acp: $input.grant_read_acp.as_deref(),
            write: None,
            write_acp: $input.grant_write_acp.as_deref(),
        }
    };
    ($input:ident, write) => {
        $crate::service::acl::AclHeaders {
            write: $input.grant_write.as_deref(),
            ..$crate::service::acl::acl_headers!($input)
        }
    };
}
pub(crate) use acl_headers;

impl AclHeaders<'_> {
    /// The ACL asked for; `None` when the request sets none.
    pub(crate) fn acl(&self) -> S3Result<Option<Acl>> {
        let headers = [
            (self.full_control, Permission::FullControl),
            (self.read, Permission::Read),
            (self.read_acp, Permission::ReadAcp),
            (self.write, Permission::Write),
            (self.write_acp, Permission::WriteAcp),
        ];
        let granted = headers.iter().any(|(h, _)| h.is_some());
        match (self.canned, granted) {
            (Some(_), true) => Err(s3_error!(
                InvalidRequest,
                "Specifying both Canned ACLs and Header Grants is not allowed"
            )),
            (Some(name), false) => canned(name).map(Some),
            (None, true) => {
                let mut acl = Vec::new();
                for (header, permission) in headers {
                    for grantee in grantees(header.unwrap_or_default())? {
                        acl.push(grant(grantee, permission));
                    }
                }
                Ok(Some(acl))
            }
            (None, false) => Ok(None),
        }
    }
}

/// The grants of an `AccessControlPolicy` document.
fn from_policy(policy: AccessControlPolicy) -> S3Result<Acl> {
    let malformed = || {
        S3Error::with_message(
            S3ErrorCode::MalformedACLError,
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    };
    let mut acl = Vec::new();
    for g in policy.grants.unwrap_or_default() {
        let grantee = g.grantee.ok_or_else(malformed)?;
        let permission = match g.permission.as_ref().map(dto::Permission::as_str) {
            Some(dto::Permission::READ) => Permission::Read,
            Some(dto::Permission::WRITE) => Permission::Write,
            Some(dto::Permission::READ_ACP) => Permission::ReadAcp,
            Some(dto::Permission::WRITE_ACP) => Permission::WriteAcp,
            Some(dto::Permission::FULL_CONTROL) => Permission::FullControl,
            _ => return Err(malformed()),
        };
        let grantee = match grantee.type_.as_str() {
            dto::Type::CANONICAL_USER => Grantee::CanonicalUser {
                id: grantee.id.ok_or_else(malformed)?,
                display_name: grantee.display_name,
            },
            dto::Type::GROUP => known_group(&grantee.uri.ok_or_else(malformed)?)?,
            dto::Type::AMAZON_CUSTOMER_BY_EMAIL => return Err(unresolvable_email()),
            _ => return Err(malformed()),
        };
        acl.push(grant(grantee, permission));
    }
    Ok(acl)
}

/// An ACL as S3 returns it (`None`: private).
fn to_grants(acl: Option<&Acl>) -> Grants {
    let private = vec![grant(owner_grantee(), Permission::FullControl)];
    acl.unwrap_or(&private)
        .iter()
        .map(|g| {
            let grantee = match &g.grantee {
                Grantee::CanonicalUser { id, display_name } => dto::Grantee {
                    display_name: display_name.clone(),
                    id: Some(id.clone()),
                    type_: dto::Type::from_static(dto::Type::CANONICAL_USER),
                    email_address: None,
                    uri: None,
                },
                Grantee::Group { uri } => dto::Grantee {
                    uri: Some(uri.clone()),
                    type_: dto::Type::from_static(dto::Type::GROUP),
                    display_name: None,
                    email_address: None,
                    id: None,
                },
            };
            let permission = match g.permission {
                Permission::Read => dto::Permission::READ,
                Permission::Write => dto::Permission::WRITE,
                Permission::ReadAcp => dto::Permission::READ_ACP,
                Permission::WriteAcp => dto::Permission::WRITE_ACP,
                Permission::FullControl => dto::Permission::FULL_CONTROL,
            };
            dto::Grant {
                grantee: Some(grantee),
                permission: Some(dto::Permission::from_static(permission)),
            }
        })
        .collect()
}

/// Whether an ACL grants anything to everyone or to every signed request (S3's "public").
pub(crate) fn is_public(acl: &Acl) -> bool {
    acl.iter().any(|g| {
        matches!(&g.grantee, Grantee::Group { uri } if uri == ALL_USERS || uri == AUTHENTICATED_USERS)
    })
}

/// Whether an ACL gives the owner alone anything (what `BucketOwnerEnforced` accepts).
fn owner_only(acl: &Acl) -> bool {
    acl.iter()
        .all(|g| matches!(&g.grantee, Grantee::CanonicalUser { id, .. } if id == OWNER_ID))
}

/// S3's checks before `acl` is set on `bucket` or one of its objects: with
/// `BucketOwnerEnforced` only an owner-only ACL is accepted (400
/// `AccessControlListNotSupported`); with `BlockPublicAcls` a public one is 403.
pub(crate) async fn check_settable(store: &Store, bucket: &str, acl: Option<&Acl>) -> S3Result<()> {
    let Some(acl) = acl else { return Ok(()) };
    let access = BucketAccess::load(store, bucket).await?;
    if access.acls_disabled && !owner_only(acl) {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessControlListNotSupported,
            "The bucket does not allow ACLs",
        ));
    }
    if access.block.block_public_acls && is_public(acl) {
        return Err(access_denied());
    }
    Ok(())
}

/// S3's 403.
pub(crate) fn access_denied() -> S3Error {
    S3Error::with_message(S3ErrorCode::AccessDenied, "Access Denied")
}

/// The ACL of a Put*Acl request: its headers, else its `AccessControlPolicy` body.
fn put_acl(headers: &AclHeaders<'_>, body: Option<AccessControlPolicy>) -> S3Result<Acl> {
    match (headers.acl()?, body) {
        (Some(_), Some(_)) => Err(s3_error!(
            UnexpectedContent,
            "This request does not support content"
        )),
        (Some(acl), None) => Ok(acl),
        (None, Some(policy)) => from_policy(policy),
        (None, None) => Err(s3_error!(
            MissingSecurityHeader,
            "Your request was missing a required header"
        )),
    }
}

pub(crate) async fn get_bucket(
    store: &Store,
    input: dto::GetBucketAclInput,
) -> S3Result<S3Response<dto::GetBucketAclOutput>> {
    let acl = BucketAccess::load(store, &input.bucket).await?.acl;
    Ok(S3Response::new(dto::GetBucketAclOutput {
        grants: Some(to_grants(acl.as_ref())),
        owner: Some(owner()),
    }))
}

pub(crate) async fn put_bucket(
    store: &Store,
    input: dto::PutBucketAclInput,
) -> S3Result<S3Response<dto::PutBucketAclOutput>> {
    let acl = put_acl(&acl_headers!(input, write), input.access_control_policy)?;
    check_settable(store, &input.bucket, Some(&acl)).await?;
    set_bucket_acl(store, &input.bucket, &acl).await?;
    Ok(S3Response::new(dto::PutBucketAclOutput::default()))
}

/// Stores a bucket's ACL.
pub(crate) async fn set_bucket_acl(store: &Store, bucket: &str, acl: &Acl) -> S3Result<()> {
    let json = serde_json::to_vec(acl).map_err(|e| s3_error!(e, InternalError))?;
    Ok(store
        .put_bucket_config(bucket, crate::store::BucketConfig::Acl, json)
        .await?)
}

pub(crate) fn get_object(
    store: &Store,
    input: dto::GetObjectAclInput,
) -> S3Result<S3Response<dto::GetObjectAclOutput>> {
    let meta = store.head_object_version(&input.bucket, &input.key, input.version_id.as_deref())?;
    Ok(S3Response::new(dto::GetObjectAclOutput {
        grants: Some(to_grants(meta.acl.as_ref())),
        owner: Some(owner()),
        ..dto::GetObjectAclOutput::default()
    }))
}

pub(crate) async fn put_object(
    store: &Store,
    input: dto::PutObjectAclInput,
) -> S3Result<S3Response<dto::PutObjectAclOutput>> {
    let acl = put_acl(&acl_headers!(input, write), input.access_control_policy)?;
    check_settable(store, &input.bucket, Some(&acl)).await?;
    store
        .put_object_acl(
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            Some(acl),
        )
        .await?;
    Ok(S3Response::new(dto::PutObjectAclOutput::default()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn canned_and_header_grants() {
        let public = AclHeaders {
            canned: Some("public-read"),
            ..AclHeaders::default()
        };
        let acl = public.acl().unwrap().unwrap();
        assert!(is_public(&acl) && !owner_only(&acl));
        let headers = AclHeaders {
            read: Some(&format!("uri=\"{ALL_USERS}\", id=\"abc\"")),
            full_control: Some("id=esb"),
            ..AclHeaders::default()
        }
        .acl()
        .unwrap()
        .unwrap();
        assert_eq!(headers.len(), 3);
        assert!(is_public(&headers));
        let both = AclHeaders {
            canned: Some("private"),
            read: Some("id=x"),
            ..AclHeaders::default()
        };
        assert!(both.acl().is_err());
        let email = AclHeaders {
            read: Some("emailAddress=\"a@b.c\""),
            ..AclHeaders::default()
        };
        assert_eq!(
            email.acl().unwrap_err().code(),
            &S3ErrorCode::UnresolvableGrantByEmailAddress
        );
        let private = AclHeaders {
            canned: Some("bucket-owner-full-control"),
            ..AclHeaders::default()
        };
        assert!(owner_only(&private.acl().unwrap().unwrap()));
        assert!(AclHeaders::default().acl().unwrap().is_none());
    }
}
