//! The artifact bucket: what is there (one round trip: the six settings read side by side,
//! the tags' read with ExpectedBucketOwner also saying whether it is there and ours), what should be, putting the settings that differ, and emptying it for
//! `--destroy`.
//!
//! S3 cannot tag a bucket at creation, so a run killed between CreateBucket and
//! PutBucketTagging leaves a bucket without tags. Such a bucket — the stack's deterministic
//! name, in the stack's account (GetBucketTagging with ExpectedBucketOwner), with no stagehand tags
//! and no objects — is adopted: tagged and set up as if just created.

use aws_sdk_s3::types as s3t;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use kit::{AwsContext, Cx, Error, Result, aws};
use serde_json::{Value, json};

use crate::clients::Clients;
use crate::desired::{ARTIFACT_DAYS, Desired};
use crate::names::Names;
use crate::observe::{Owner, owner_of, parse_policy};

pub const LIFECYCLE_RULE_ID: &str = "expire-artifacts";
pub const ABORT_UPLOAD_DAYS: i32 = 7;

/// The bucket as found.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundBucket {
    pub owner: Owner,
    /// The managed settings, normalised like [`wanted`].
    pub settings: Value,
    /// Untagged and empty: what a killed create leaves, which the next run adopts.
    pub stranded: bool,
}

/// The S3 error codes that mean "this bucket setting is not there".
fn absent_setting(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "NoSuchBucketPolicy"
                | "ServerSideEncryptionConfigurationNotFoundError"
                | "NoSuchPublicAccessBlockConfiguration"
                | "OwnershipControlsNotFoundError"
                | "NoSuchLifecycleConfiguration"
                | "NoSuchTagSet"
                | "NoSuchTagSetError"
        )
    )
}

/// A bucket setting: absent is `None`, any other error fails with what was being read.
fn setting<T, E>(r: std::result::Result<T, E>, what: &str, bucket: &str) -> Result<Option<T>>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    match r {
        Ok(out) => Ok(Some(out)),
        Err(e) if absent_setting(aws::code(&e)) => Ok(None),
        Err(e) => Err(Error::from_sdk(
            format!("reading the {what} of bucket {bucket}"),
            e,
        )),
    }
}

/// The artifact bucket, if it exists in this account.
pub async fn observe(cx: &Cx, c: &Clients, n: &Names) -> Result<Option<FoundBucket>> {
    let b = n.bucket.as_str();
    // The tags' read also answers whether the bucket is there and ours (ExpectedBucketOwner:
    // a 403 for a bucket of another account), so no HeadBucket of its own.
    let (policy, encryption, block, ownership, lifecycle, tagging) = futures::join!(
        c.s3.get_bucket_policy().bucket(b).send(),
        c.s3.get_bucket_encryption().bucket(b).send(),
        c.s3.get_public_access_block().bucket(b).send(),
        c.s3.get_bucket_ownership_controls().bucket(b).send(),
        c.s3.get_bucket_lifecycle_configuration().bucket(b).send(),
        c.s3.get_bucket_tagging()
            .bucket(b)
            .expected_bucket_owner(&cx.account)
            .send(),
    );
    match &tagging {
        Err(e) if aws::is_not_found(e) => return Ok(None),
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(403) => {
            return Err(Error::usage(format!(
                "the bucket name {b} is taken by another AWS account; S3 bucket names are global, so deploy under another --app"
            )));
        }
        _ => {}
    }
    let policy = setting(policy, "policy", b)?;
    let encryption = setting(encryption, "encryption", b)?;
    let block = setting(block, "public access block", b)?;
    let ownership = setting(ownership, "ownership controls", b)?;
    let lifecycle = setting(lifecycle, "lifecycle rules", b)?;
    let tagging = setting(tagging, "tags", b)?;
    let owner = owner_of(
        cx,
        tagging
            .iter()
            .flat_map(|t| t.tag_set().iter().map(|t| (t.key(), t.value()))),
    );
    let stranded = owner == Owner::Untagged && is_empty(c, b).await?;
    let policy = policy
        .and_then(|p| p.policy().and_then(parse_policy))
        .unwrap_or(Value::Null);
    let encryption = encryption
        .and_then(|e| {
            e.server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| Value::from(d.sse_algorithm().as_str()))
        })
        .unwrap_or(Value::Null);
    let block = block
        .and_then(|b| {
            b.public_access_block_configuration().map(|c| {
                json!([
                    c.block_public_acls().unwrap_or(false),
                    c.ignore_public_acls().unwrap_or(false),
                    c.block_public_policy().unwrap_or(false),
                    c.restrict_public_buckets().unwrap_or(false)
                ])
            })
        })
        .unwrap_or(Value::Null);
    let ownership = ownership
        .and_then(|o| {
            o.ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|r| Value::from(r.object_ownership().as_str()))
        })
        .unwrap_or(Value::Null);
    let lifecycle = lifecycle
        .map(|l| {
            Value::Array(
                l.rules()
                    .iter()
                    .map(|r| {
                        lifecycle_rule(
                            r.id().unwrap_or_default(),
                            r.status().as_str(),
                            r.expiration().and_then(|e| e.days()),
                            r.abort_incomplete_multipart_upload()
                                .and_then(|a| a.days_after_initiation()),
                        )
                    })
                    .collect(),
            )
        })
        .unwrap_or(Value::Null);
    Ok(Some(FoundBucket {
        owner,
        stranded,
        settings: json!({
            "policy": policy,
            "encryption": encryption,
            "publicAccessBlock": block,
            "ownership": ownership,
            "lifecycle": lifecycle,
        }),
    }))
}

/// Whether the bucket holds no object (no version, no delete marker).
async fn is_empty(c: &Clients, b: &str) -> Result<bool> {
    let page =
        c.s3.list_object_versions()
            .bucket(b)
            .max_keys(1)
            .send()
            .await
            .ctx(format!("listing the objects of bucket {b}"))?;
    Ok(page.versions().is_empty() && page.delete_markers().is_empty())
}

pub fn lifecycle_rule(id: &str, status: &str, days: Option<i32>, abort: Option<i32>) -> Value {
    json!({"id": id, "status": status, "expirationDays": days, "abortIncompleteUploadDays": abort})
}

/// The bucket settings pipeline-up wants.
pub fn wanted(d: &Desired) -> Value {
    json!({
        "policy": d.bucket_policy,
        "encryption": "AES256",
        "publicAccessBlock": [true, true, true, true],
        "ownership": "BucketOwnerEnforced",
        "lifecycle": [lifecycle_rule(
            LIFECYCLE_RULE_ID,
            "Enabled",
            Some(ARTIFACT_DAYS),
            Some(ABORT_UPLOAD_DAYS),
        )],
    })
}

fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>, what: &str) -> Result<T> {
    r.map_err(|e| Error::aws(format!("building the request for {what}: {e}")))
}

/// Create the bucket (an answer that it is ours already counts as made), tag it, and put the
/// settings in `parts`.
pub async fn ensure(
    cx: &Cx,
    c: &Clients,
    d: &Desired,
    create: bool,
    tag: bool,
    parts: &[&'static str],
) -> Result<()> {
    let b = d.n.bucket.as_str();
    if create {
        let mut req =
            c.s3.create_bucket()
                .bucket(b)
                .object_ownership(s3t::ObjectOwnership::BucketOwnerEnforced);
        if cx.region != "us-east-1" {
            req = req.create_bucket_configuration(
                s3t::CreateBucketConfiguration::builder()
                    .location_constraint(s3t::BucketLocationConstraint::from(cx.region.as_str()))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => kit::info!("created S3 bucket {b}"),
            // A retry of a create whose answer was lost.
            Err(e) if aws::code(&e) == Some("BucketAlreadyOwnedByYou") => {}
            Err(e) if aws::code(&e) == Some("BucketAlreadyExists") => {
                return Err(Error::aws(format!(
                    "the bucket name {b} is taken by another AWS account; S3 bucket names are global, so deploy under another --app"
                )));
            }
            Err(e) => return Err(Error::from_sdk(format!("creating S3 bucket {b}"), e)),
        }
    }
    if tag {
        let tags: Vec<s3t::Tag> = cx
            .tags()
            .iter()
            .map(|(k, v)| built(s3t::Tag::builder().key(k).value(v).build(), "a bucket tag"))
            .collect::<Result<_>>()?;
        c.s3.put_bucket_tagging()
            .bucket(b)
            .tagging(built(
                s3t::Tagging::builder().set_tag_set(Some(tags)).build(),
                "the bucket tags",
            )?)
            .send()
            .await
            .ctx(format!("tagging S3 bucket {b}"))?;
        if !create {
            kit::info!(
                "adopted S3 bucket {b} (empty and untagged: a run was stopped after creating it)"
            );
        }
    }
    // One after another, in BUCKET_PARTS order: ownership and the public access block come
    // before the policy, as S3 wants.
    for part in parts {
        put_part(c, d, part).await?;
    }
    if !create && !parts.is_empty() {
        kit::info!("updated S3 bucket {b} ({})", parts.join(", "));
    }
    Ok(())
}

async fn put_part(c: &Clients, d: &Desired, part: &str) -> Result<()> {
    let b = d.n.bucket.as_str();
    match part {
        "ownership" => {
            let rule = built(
                s3t::OwnershipControlsRule::builder()
                    .object_ownership(s3t::ObjectOwnership::BucketOwnerEnforced)
                    .build(),
                "the ownership rule",
            )?;
            c.s3.put_bucket_ownership_controls()
                .bucket(b)
                .ownership_controls(built(
                    s3t::OwnershipControls::builder().rules(rule).build(),
                    "the ownership controls",
                )?)
                .send()
                .await
                .ctx(format!("setting object ownership on bucket {b}"))?;
        }
        "publicAccessBlock" => {
            c.s3.put_public_access_block()
                .bucket(b)
                .public_access_block_configuration(
                    s3t::PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(true)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await
                .ctx(format!("blocking public access to bucket {b}"))?;
        }
        "encryption" => {
            let default = built(
                s3t::ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(s3t::ServerSideEncryption::Aes256)
                    .build(),
                "the encryption default",
            )?;
            let config = built(
                s3t::ServerSideEncryptionConfiguration::builder()
                    .rules(
                        s3t::ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(default)
                            .build(),
                    )
                    .build(),
                "the encryption configuration",
            )?;
            c.s3.put_bucket_encryption()
                .bucket(b)
                .server_side_encryption_configuration(config)
                .send()
                .await
                .ctx(format!("setting SSE-S3 encryption on bucket {b}"))?;
        }
        "policy" => {
            c.s3.put_bucket_policy()
                .bucket(b)
                .policy(d.bucket_policy.to_string())
                .send()
                .await
                .ctx(format!("setting the TLS-only policy of bucket {b}"))?;
        }
        "lifecycle" => {
            let rule = built(
                s3t::LifecycleRule::builder()
                    .id(LIFECYCLE_RULE_ID)
                    .status(s3t::ExpirationStatus::Enabled)
                    .filter(s3t::LifecycleRuleFilter::builder().prefix("").build())
                    .expiration(
                        s3t::LifecycleExpiration::builder()
                            .days(ARTIFACT_DAYS)
                            .build(),
                    )
                    .abort_incomplete_multipart_upload(
                        s3t::AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(ABORT_UPLOAD_DAYS)
                            .build(),
                    )
                    .build(),
                "the lifecycle rule",
            )?;
            c.s3.put_bucket_lifecycle_configuration()
                .bucket(b)
                .lifecycle_configuration(built(
                    s3t::BucketLifecycleConfiguration::builder()
                        .rules(rule)
                        .build(),
                    "the lifecycle configuration",
                )?)
                .send()
                .await
                .ctx(format!("setting the lifecycle rule of bucket {b}"))?;
        }
        other => return Err(Error::aws(format!("unknown bucket setting {other}"))),
    }
    Ok(())
}

/// Delete every object version and delete marker, a page (up to 1000) at a time. A bucket
/// already gone is empty.
pub async fn empty(c: &Clients, bucket: &str) -> Result<()> {
    let mut deleted = 0usize;
    loop {
        let Some(page) =
            c.s3.list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .found(format!("listing the objects of bucket {bucket}"))?
        else {
            return Ok(());
        };
        let mut ids = Vec::new();
        for v in page.versions() {
            if let Some(key) = v.key() {
                ids.push((key.to_owned(), v.version_id().map(str::to_owned)));
            }
        }
        for m in page.delete_markers() {
            if let Some(key) = m.key() {
                ids.push((key.to_owned(), m.version_id().map(str::to_owned)));
            }
        }
        if ids.is_empty() {
            break;
        }
        let objects = ids
            .iter()
            .map(|(key, version)| {
                built(
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version.clone())
                        .build(),
                    "a delete request",
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let delete = built(
            Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build(),
            "a delete request",
        )?;
        let Some(out) =
            c.s3.delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .found(format!("emptying bucket {bucket}"))?
        else {
            return Ok(());
        };
        if let Some(err) = out.errors().first() {
            return Err(Error::aws(format!(
                "emptying bucket {bucket}: {} {}",
                err.key().unwrap_or_default(),
                err.message().unwrap_or_default()
            )));
        }
        deleted += ids.len();
    }
    if deleted > 0 {
        kit::info!("emptied S3 bucket {bucket} ({deleted} object versions)");
    }
    Ok(())
}
