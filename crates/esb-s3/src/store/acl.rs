//! Access control lists as the store keeps them: the grants of a bucket (a bucket
//! configuration document) or of an object version (in its sidecar). No ACL means S3's
//! default, `private`: the owner has full control and nobody else anything. The service owns
//! what the grants mean (canned ACLs, grant headers, who may do what).

use serde::{Deserialize, Serialize};

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Grantee {
    /// an account by canonical user id
    CanonicalUser {
        /// canonical user id
        id: String,
        /// display name, if given
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
    },
    /// a predefined group (`http://acs.amazonaws.com/groups/global/AllUsers` …)
    Group {
        /// the group's URI
        uri: String,
    },
}

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Permission {
    /// read the object, or list the bucket
    Read,
    /// write objects into the bucket
    Write,
    /// read the ACL
    ReadAcp,
    /// write the ACL
    WriteAcp,
    /// all of the above
    FullControl,
}

impl Permission {
    /// Whether a grant of `self` gives `wanted`.
    pub fn covers(self, wanted: Self) -> bool {
        self == wanted || self == Self::FullControl
    }
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// who
    pub grantee: Grantee,
    /// what
    pub permission: Permission,
}

/// The grants of a bucket or object, in the order given.
pub type Acl = Vec<Grant>;
