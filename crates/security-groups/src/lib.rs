//! EC2 security groups as db-up, alb-up and svc-up need them: found by name in a VPC (one
//! DescribeSecurityGroups for all of a step's groups), created tagged, their rules reconciled
//! to exactly the desired set (missing rules authorised, extra ones revoked — including the
//! default allow-all egress when the step wants tighter egress), and deleted with a wait
//! (progress naming the interfaces that hold the group) while ENIs drain.
//!
//! Groups are created empty first and their rules set afterwards, so two groups that name
//! each other (the DB group admits the DB-client group) need no ordering.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};
use kit::{AwsContext, Cx, Result, aws, wait};

/// Where traffic comes from (ingress) or goes to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    Cidr(String),
    Group(String),
}

/// One rule: protocol "tcp" or "-1" (all), a port range (0..0 for all), and a peer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub peer: Peer,
}

impl Rule {
    pub fn tcp(port: u16, peer: Peer) -> Rule {
        Rule {
            protocol: "tcp".into(),
            from_port: port.into(),
            to_port: port.into(),
            peer,
        }
    }
    pub fn all(peer: Peer) -> Rule {
        Rule {
            protocol: "-1".into(),
            from_port: 0,
            to_port: 0,
            peer,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.protocol == "-1" {
            "all traffic".to_owned()
        } else if self.from_port == self.to_port {
            format!("{} {}", self.protocol, self.from_port)
        } else {
            format!("{} {}-{}", self.protocol, self.from_port, self.to_port)
        };
        match &self.peer {
            Peer::Cidr(c) => write!(f, "{what} {c}"),
            Peer::Group(g) => write!(f, "{what} group {g}"),
        }
    }
}

/// A group as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub ingress: BTreeSet<Rule>,
    pub egress: BTreeSet<Rule>,
    pub tags: BTreeMap<String, String>,
}

/// The rules a group should have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub ingress: BTreeSet<Rule>,
    pub egress: BTreeSet<Rule>,
}

impl Rules {
    /// What differs, as plan fields ("ingress +tcp 80 0.0.0.0/0", "egress -all traffic 0.0.0.0/0").
    pub fn changes_from(&self, group: &Group) -> Vec<String> {
        let mut out = Vec::new();
        for (dir, want, have) in [
            ("ingress", &self.ingress, &group.ingress),
            ("egress", &self.egress, &group.egress),
        ] {
            out.extend(want.difference(have).map(|r| format!("{dir} +{r}")));
            out.extend(have.difference(want).map(|r| format!("{dir} -{r}")));
        }
        out
    }
}

/// Every group among `names` in the VPC, by name, in one call.
pub async fn find(
    client: &Client,
    vpc_id: &str,
    names: &[&str],
) -> Result<BTreeMap<String, Group>> {
    let out = client
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .set_values(Some(names.iter().map(|n| n.to_string()).collect()))
                .build(),
        )
        .send()
        .await
        .ctx(format!(
            "describing security groups {} in {vpc_id}",
            names.join(", ")
        ))?;
    Ok(out
        .security_groups()
        .iter()
        .map(|g| (g.group_name().unwrap_or_default().to_owned(), group_of(g)))
        .collect())
}

/// The groups named `name` that `step` of `app` created (by their stagehand tags), in any VPC:
/// what `--destroy` deletes when the document no longer names the VPC.
pub async fn find_owned(client: &Client, name: &str, app: &str, step: &str) -> Result<Vec<Group>> {
    let tag = |key: &str, value: &str| {
        Filter::builder()
            .name(format!("tag:{key}"))
            .values(value)
            .build()
    };
    let out = client
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .filters(tag(kit::TAG_APP, app))
        .filters(tag(kit::TAG_STEP, step))
        .send()
        .await
        .ctx(format!("describing security groups named {name}"))?;
    Ok(out.security_groups().iter().map(group_of).collect())
}

/// A group by id; None if it is gone.
pub async fn get(client: &Client, id: &str) -> Result<Option<Group>> {
    match client.describe_security_groups().group_ids(id).send().await {
        Ok(out) => Ok(out.security_groups().first().map(group_of)),
        Err(e) if aws::is_not_found(&e) => Ok(None),
        Err(e) => Err(kit::Error::aws(format!(
            "describing security group {id}: {}",
            aws::describe(&e)
        ))),
    }
}

fn group_of(g: &aws_sdk_ec2::types::SecurityGroup) -> Group {
    Group {
        id: g.group_id().unwrap_or_default().to_owned(),
        name: g.group_name().unwrap_or_default().to_owned(),
        ingress: flatten(g.ip_permissions()),
        egress: flatten(g.ip_permissions_egress()),
        tags: kit::tag_map(g.tags().iter().map(|t| (t.key(), t.value()))),
    }
}

/// AWS groups peers under one permission per protocol/port; we compare rule by rule.
fn flatten(perms: &[IpPermission]) -> BTreeSet<Rule> {
    let mut rules = BTreeSet::new();
    for p in perms {
        let protocol = match p.ip_protocol().unwrap_or("-1") {
            "6" => "tcp",
            other => other,
        }
        .to_owned();
        let (from_port, to_port) = if protocol == "-1" {
            (0, 0)
        } else {
            (p.from_port().unwrap_or(0), p.to_port().unwrap_or(0))
        };
        let rule = |peer| Rule {
            protocol: protocol.clone(),
            from_port,
            to_port,
            peer,
        };
        rules.extend(
            p.ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip())
                .map(|c| rule(Peer::Cidr(c.to_owned()))),
        );
        rules.extend(
            p.ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6())
                .map(|c| rule(Peer::Cidr(c.to_owned()))),
        );
        rules.extend(
            p.user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id())
                .map(|g| rule(Peer::Group(g.to_owned()))),
        );
    }
    rules
}

fn permission(rule: &Rule) -> IpPermission {
    let mut p = IpPermission::builder().ip_protocol(&rule.protocol);
    if rule.protocol != "-1" {
        p = p.from_port(rule.from_port).to_port(rule.to_port);
    }
    match &rule.peer {
        Peer::Cidr(c) if c.contains(':') => {
            p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build())
        }
        Peer::Cidr(c) => p = p.ip_ranges(IpRange::builder().cidr_ip(c).build()),
        Peer::Group(g) => p = p.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build()),
    }
    p.build()
}

/// Create an empty group tagged with the step's tags and `Name`; returns it as AWS made it
/// (with the default allow-all egress rule, which [`reconcile`] removes when unwanted).
pub async fn create(
    cx: &Cx,
    client: &Client,
    vpc_id: &str,
    name: &str,
    description: &str,
) -> Result<Group> {
    let tags = cx
        .tags()
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .chain(std::iter::once(
            Tag::builder().key("Name").value(name).build(),
        ));
    let created = client
        .create_security_group()
        .group_name(name)
        .description(description)
        .vpc_id(vpc_id)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .set_tags(Some(tags.collect()))
                .build(),
        )
        .send()
        .await;
    let id = match created {
        Ok(out) => out.group_id().unwrap_or_default().to_owned(),
        // A concurrent run made it between our look and our create.
        Err(e) if aws::is_already_exists(&e) => {
            match find(client, vpc_id, &[name]).await?.remove(name) {
                Some(g) => return Ok(g),
                None => {
                    return Err(kit::Error::aws(format!(
                        "security group {name} exists but cannot be found in {vpc_id}"
                    )));
                }
            }
        }
        Err(e) => {
            return Err(kit::Error::aws(format!(
                "creating security group {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    kit::info!("created security group {name} ({id})");
    Ok(get(client, &id).await?.unwrap_or(Group {
        id,
        name: name.to_owned(),
        ingress: BTreeSet::new(),
        egress: BTreeSet::from([Rule::all(Peer::Cidr("0.0.0.0/0".into()))]),
        tags: BTreeMap::new(),
    }))
}

/// Make the group's rules exactly `want`: authorise what is missing, revoke what is extra.
/// No call at all when they already match. A retried call whose first answer was lost gets
/// InvalidPermission.Duplicate (authorise) or InvalidPermission.NotFound (revoke): done.
pub async fn reconcile(client: &Client, group: &Group, want: &Rules) -> Result<()> {
    let name = &group.name;
    let add_in: Vec<IpPermission> = want
        .ingress
        .difference(&group.ingress)
        .map(permission)
        .collect();
    let del_in: Vec<IpPermission> = group
        .ingress
        .difference(&want.ingress)
        .map(permission)
        .collect();
    let add_out: Vec<IpPermission> = want
        .egress
        .difference(&group.egress)
        .map(permission)
        .collect();
    let del_out: Vec<IpPermission> = group
        .egress
        .difference(&want.egress)
        .map(permission)
        .collect();
    if !add_in.is_empty() {
        client
            .authorize_security_group_ingress()
            .group_id(&group.id)
            .set_ip_permissions(Some(add_in))
            .send()
            .await
            .created(format!("adding ingress rules to security group {name}"))?;
    }
    if !add_out.is_empty() {
        client
            .authorize_security_group_egress()
            .group_id(&group.id)
            .set_ip_permissions(Some(add_out))
            .send()
            .await
            .created(format!("adding egress rules to security group {name}"))?;
    }
    if !del_in.is_empty() {
        client
            .revoke_security_group_ingress()
            .group_id(&group.id)
            .set_ip_permissions(Some(del_in))
            .send()
            .await
            .deleted(format!("removing ingress rules from security group {name}"))?;
    }
    if !del_out.is_empty() {
        client
            .revoke_security_group_egress()
            .group_id(&group.id)
            .set_ip_permissions(Some(del_out))
            .send()
            .await
            .deleted(format!("removing egress rules from security group {name}"))?;
    }
    Ok(())
}

/// Delete groups a step owns. Rules that name other groups are revoked first, so groups that
/// reference each other go in any order; each delete is retried while dependent ENIs drain
/// (DependencyViolation), until the run's deadline. Groups without this step's tags are left
/// alone, with a warning.
pub async fn delete_owned(cx: &Cx, client: &Client, groups: &[Group]) -> Result<()> {
    let owned: Vec<&Group> = groups
        .iter()
        .filter(|g| {
            let mine = cx.owns(g.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if !mine {
                kit::warn!("security group {} ({}) does not carry this step's stagehand tags: left in place", g.name, g.id);
            }
            mine
        })
        .collect();
    for g in &owned {
        let cross = |rules: &BTreeSet<Rule>| {
            rules
                .iter()
                .filter(|r| matches!(r.peer, Peer::Group(_)))
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        let keep = Rules {
            ingress: g.ingress.difference(&cross(&g.ingress)).cloned().collect(),
            egress: g.egress.difference(&cross(&g.egress)).cloned().collect(),
        };
        if keep.ingress.len() != g.ingress.len() || keep.egress.len() != g.egress.len() {
            reconcile(client, g, &keep).await?;
        }
    }
    for g in owned {
        if delete_draining(cx, client, g).await? {
            kit::info!("deleted security group {} ({})", g.name, g.id);
        }
    }
    Ok(())
}

/// Delete one group (false: it was gone), waiting while AWS answers DependencyViolation, with
/// progress naming what still holds it (the network interfaces in it: a stopped task's, a
/// deleted load balancer's or database's linger for minutes); at the deadline the timeout
/// (exit 3) names them too.
async fn delete_draining(cx: &Cx, client: &Client, g: &Group) -> Result<bool> {
    let what = format!("deletion of security group {} ({})", g.name, g.id);
    let attempt = || client.delete_security_group().group_id(&g.id).send();
    match attempt().await {
        Ok(_) => return Ok(true),
        Err(e) if aws::is_not_found(&e) => return Ok(false),
        Err(e) if aws::is_dependency_violation(&e) => {
            kit::debug!("{what}: {}", aws::describe(&e));
        }
        Err(e) => return Err(kit::Error::from_sdk(what, e)),
    }
    wait::until(cx, &what, || async {
        match attempt().await {
            Ok(_) => Ok(wait::Poll::Ready(true)),
            Err(e) if aws::is_not_found(&e) => Ok(wait::Poll::Ready(false)),
            Err(e) if aws::is_dependency_violation(&e) => {
                let held = holders(client, &g.id).await.unwrap_or_default();
                Ok(wait::Poll::Pending(if held.is_empty() {
                    format!("in use ({})", aws::describe(&e))
                } else {
                    format!("still held by {}", held.join(", "))
                }))
            }
            Err(e) => Err(kit::Error::from_sdk(what.clone(), e)),
        }
    })
    .await
}

/// The network interfaces in group `id`: "network interface eni-1 (RDSNetworkInterface,
/// amazon-rds, in-use)".
async fn holders(client: &Client, id: &str) -> Result<Vec<String>> {
    let out = client
        .describe_network_interfaces()
        .filters(Filter::builder().name("group-id").values(id).build())
        .send()
        .await
        .ctx(format!(
            "listing the network interfaces in security group {id}"
        ))?;
    Ok(out
        .network_interfaces()
        .iter()
        .map(|n| {
            let about: Vec<&str> = [
                n.description().filter(|d| !d.is_empty()),
                n.requester_id(),
                n.status().map(|s| s.as_str()),
            ]
            .into_iter()
            .flatten()
            .collect();
            format!(
                "network interface {} ({})",
                n.network_interface_id().unwrap_or_default(),
                about.join(", ")
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(ingress: &[Rule], egress: &[Rule]) -> Group {
        Group {
            id: "sg-1".into(),
            name: "g".into(),
            ingress: ingress.iter().cloned().collect(),
            egress: egress.iter().cloned().collect(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn changes_list_added_and_removed_rules() {
        let world = Peer::Cidr("0.0.0.0/0".into());
        let g = group(&[], &[Rule::all(world.clone())]);
        let want = Rules {
            ingress: [Rule::tcp(80, world.clone())].into(),
            egress: [Rule::tcp(7007, Peer::Cidr("10.0.10.0/24".into()))].into(),
        };
        let changes = want.changes_from(&g);
        assert_eq!(
            changes,
            [
                "ingress +tcp 80 0.0.0.0/0",
                "egress +tcp 7007 10.0.10.0/24",
                "egress -all traffic 0.0.0.0/0"
            ]
        );
        let same = group(
            &[Rule::tcp(80, world.clone())],
            &[Rule::tcp(7007, Peer::Cidr("10.0.10.0/24".into()))],
        );
        assert!(want.changes_from(&same).is_empty());
    }

    #[test]
    fn permissions_flatten_to_rules() {
        let p = IpPermission::builder()
            .ip_protocol("6")
            .from_port(5432)
            .to_port(5432)
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-2").build())
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/16").build())
            .build();
        let rules = flatten(&[p]);
        assert!(rules.contains(&Rule::tcp(5432, Peer::Group("sg-2".into()))));
        assert!(rules.contains(&Rule::tcp(5432, Peer::Cidr("10.0.0.0/16".into()))));
        assert_eq!(rules.len(), 2);
    }
}
