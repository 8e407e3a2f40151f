"""AWS's documented limits that the service models leave to prose, checked before routing.

The models (validation.py) carry lengths, patterns and enums; these rules are written only in
AWS's documentation, each named in a comment beside its rule. A request that breaks one is
refused with the service's own error code and message, as the real service refuses it.
POST /_stagehand/validation {"limits": false} switches the table off for a test that needs
moto's laxer behaviour.

A rule is a function of the decoded request (member names as in the model) and a context
(account, region, moto's backends), registered for (botocore service, operation).
"""

import re

from .validation import Refusal

RULES = {}


def rule(service, *operations):
    def register(fn):
        for op in operations:
            RULES.setdefault((service, op), []).append(fn)
        return fn

    return register


class Context:
    def __init__(self, account, region):
        self.account, self.region = account, region

    def ec2(self):
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.account][self.region]

    def rds(self):
        from moto.rds.models import rds_backends

        return rds_backends[self.account][self.region]

    def secrets(self):
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[self.account][self.region]


def account_of(environ):
    """The account moto serves a request from (its access key's, else moto's default)."""
    from moto.iam.models import get_account_id_from

    m = re.search(r"Credential=([A-Z0-9]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return get_account_id_from(m.group(1) if m else "")


def check(request, parsed, account, region):
    """Raise Refusal when the request breaks a documented limit."""
    for fn in RULES.get((request.service, request.operation.name), []):
        fn(parsed, Context(account, region))


def _azs(ctx, subnet_ids):
    zones = set()
    backend = ctx.ec2()
    for sid in subnet_ids:
        try:
            zones.add(backend.get_subnet(sid).availability_zone)
        except Exception:  # noqa: BLE001 - an unknown subnet is the service's own error
            return None
    return zones


# ------------------------------------------------------------------ Elastic Load Balancing
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
# Name: "maximum of 32 characters, must contain only alphanumeric characters or hyphens, must
# not begin or end with a hyphen, and must not begin with 'internal-'". Subnets: "[Application
# Load Balancers] You must specify subnets from at least two Availability Zones."
LB_NAME = re.compile(r"^[A-Za-z0-9-]+$")


def _elb_name(kind, name):
    if len(name) > 32:
        raise Refusal("ValidationError", f"{kind} name '{name}' cannot be longer than '32' characters")
    if not LB_NAME.match(name):
        raise Refusal("ValidationError", f"{kind} name '{name}' can only contain characters that "
                      "are alphanumeric characters or hyphens(-)")
    if name.startswith("-") or name.endswith("-"):
        raise Refusal("ValidationError", f"{kind} name '{name}' cannot begin or end with '-'")


@rule("elbv2", "CreateLoadBalancer")
def alb_name(req, ctx):
    name = req.get("Name", "")
    _elb_name("Load balancer", name)
    if name.lower().startswith("internal-"):
        raise Refusal("ValidationError", f"Load balancer name '{name}' cannot begin with 'internal-'")


@rule("elbv2", "CreateLoadBalancer", "SetSubnets")
def alb_two_zones(req, ctx):
    if req.get("Type", "application") != "application" and "LoadBalancerArn" not in req:
        return
    subnets = list(req.get("Subnets") or []) + [
        m["SubnetId"] for m in req.get("SubnetMappings") or [] if m.get("SubnetId")
    ]
    zones = _azs(ctx, subnets)
    if zones is not None and len(zones) < 2:
        raise Refusal("ValidationError",
                      "At least two subnets in two different Availability Zones must be specified")


# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
# Name: "maximum of 32 characters, must contain only alphanumeric characters or hyphens, and
# must not begin or end with a hyphen".
@rule("elbv2", "CreateTargetGroup")
def target_group_name(req, ctx):
    _elb_name("Target group", req.get("Name", ""))


# ------------------------------------------------------------------ RDS
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html and
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html
# "Each DB subnet group should have subnets in at least two Availability Zones".
@rule("rds", "CreateDBSubnetGroup", "ModifyDBSubnetGroup")
def db_subnet_group_two_zones(req, ctx):
    zones = _azs(ctx, req.get("SubnetIds") or [])
    if zones is not None and len(zones) < 2:
        raise Refusal(
            "DBSubnetGroupDoesNotCoverEnoughAZs",
            "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
            f"Current AZ coverage: {', '.join(sorted(zones))}. Add subnets to cover at least 2 AZs.",
        )


# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html
# MasterUserPassword: "Must contain from 8 to 41 characters. Can contain any printable ASCII
# character except "/", """, or "@"" (and RDS refuses a space too).
PASSWORD_FORBIDDEN = set('/@" ')


def check_password(password):
    if password is None:
        return
    if len(password) < 8:
        raise Refusal("InvalidParameterValue", "The parameter MasterUserPassword is not a valid "
                      "password because it is shorter than 8 characters.")
    if len(password) > 41:
        raise Refusal("InvalidParameterValue", "The parameter MasterUserPassword is not a valid "
                      "password because it is longer than 41 characters.")
    if any(not (32 <= ord(c) <= 126) or c in PASSWORD_FORBIDDEN for c in password):
        raise Refusal("InvalidParameterValue", "The parameter MasterUserPassword is not a valid "
                      "password. Only printable ASCII characters besides '/', '@', '\"', ' ' "
                      "may be used.")


# Aurora PostgreSQL versions with Serverless v2, and each one's capacity range.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.ServerlessV2.html
#   Serverless v2: Aurora PostgreSQL 13.6+, 14.3+, 15.2+, 16.1+, 17.4+.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html
#   256 ACUs: 13.13+, 14.10+, 15.5+, 16.1+ (else 128). 0 ACUs (auto-pause): 13.15+, 14.12+,
#   15.7+, 16.3+ (else 0.5). DescribeDBEngineVersions reports both per version
#   (DBEngineVersion.ServerlessV2FeaturesSupport, API_ServerlessV2FeaturesSupport.html).
AURORA_POSTGRESQL = {
    "11": ["11.9", "11.21"],  # no Serverless v2
    "12": ["12.9", "12.22"],  # no Serverless v2
    "13": ["13.6", "13.7", "13.8", "13.9", "13.10", "13.11", "13.12", "13.13", "13.14", "13.15",
           "13.16", "13.18", "13.20", "13.21"],
    "14": ["14.3", "14.4", "14.5", "14.6", "14.7", "14.8", "14.9", "14.10", "14.11", "14.12",
           "14.13", "14.15", "14.17", "14.18"],
    "15": ["15.2", "15.3", "15.4", "15.5", "15.6", "15.7", "15.8", "15.10", "15.12", "15.13"],
    "16": ["16.1", "16.2", "16.3", "16.4", "16.6", "16.8", "16.9"],
    "17": ["17.4", "17.5"],
}
DEFAULT_AURORA_POSTGRESQL = "16.6"
_SERVERLESS_FROM = {"13": 6, "14": 3, "15": 2, "16": 1, "17": 4}
_MAX_256_FROM = {"13": 13, "14": 10, "15": 5, "16": 1, "17": 0}
_MIN_0_FROM = {"13": 15, "14": 12, "15": 7, "16": 3, "17": 0}


def serverless_v2_range(version):
    """(min ACU, max ACU) for an Aurora PostgreSQL version, or None without Serverless v2."""
    major, _, minor = version.partition(".")
    if major not in _SERVERLESS_FROM or not minor.isdigit() or int(minor) < _SERVERLESS_FROM[major]:
        return None
    lo = 0.0 if int(minor) >= _MIN_0_FROM[major] else 0.5
    hi = 256.0 if int(minor) >= _MAX_256_FROM[major] else 128.0
    return lo, hi


def aurora_postgresql_versions():
    return [v for versions in AURORA_POSTGRESQL.values() for v in versions]


def resolve_version(version):
    """The full version AWS picks for `version` ("16" → that major's newest), or None."""
    if version in aurora_postgresql_versions():
        return version
    if version in AURORA_POSTGRESQL:
        return AURORA_POSTGRESQL[version][-1]
    return None


def check_scaling(version, scaling):
    if scaling is None:
        return
    lo_req, hi_req = scaling.get("MinCapacity"), scaling.get("MaxCapacity")
    if lo_req is None or hi_req is None:
        raise Refusal("InvalidParameterValue", "Both MinCapacity and MaxCapacity must be "
                      "specified when you initialize Serverless v2 scaling configuration.")
    lo_req, hi_req = float(lo_req), float(hi_req)
    for what, value in (("minimum", lo_req), ("maximum", hi_req)):
        if (value * 2) != int(value * 2):
            raise Refusal("InvalidParameterValue", f"Serverless v2 {what} capacity {value} isn't "
                          "valid. Capacity must be specified in increments of 0.5.")
    supported = serverless_v2_range(version)
    if supported is None:
        raise Refusal("InvalidParameterCombination", f"The engine version {version} of "
                      "aurora-postgresql doesn't support Serverless v2.")
    lo, hi = supported
    if hi_req < 1.0:
        raise Refusal("InvalidParameterValue", f"Serverless v2 maximum capacity {hi_req} isn't "
                      "valid. The maximum capacity must be at least 1.0.")
    if hi_req > hi:
        raise Refusal("InvalidParameterValue", f"Serverless v2 maximum capacity {hi_req} isn't "
                      f"valid. The maximum capacity must be at most {hi} for engine version {version}.")
    if lo_req < lo:
        raise Refusal("InvalidParameterValue", f"Serverless v2 minimum capacity {lo_req} isn't "
                      f"valid. The minimum capacity must be at least {lo} for engine version {version}.")
    if lo_req > hi_req:
        raise Refusal("InvalidParameterValue", f"Serverless v2 minimum capacity {lo_req} isn't "
                      f"valid. The minimum capacity must be less than or equal to the maximum "
                      f"capacity {hi_req}.")


@rule("rds", "CreateDBCluster")
def aurora_create(req, ctx):
    check_password(req.get("MasterUserPassword"))
    if req.get("Engine") != "aurora-postgresql":
        return
    asked = req.get("EngineVersion") or DEFAULT_AURORA_POSTGRESQL
    version = resolve_version(asked)
    if version is None:
        raise Refusal("InvalidParameterCombination", f"Cannot find version {asked} for aurora-postgresql")
    check_scaling(version, req.get("ServerlessV2ScalingConfiguration"))


@rule("rds", "ModifyDBCluster")
def aurora_modify(req, ctx):
    check_password(req.get("MasterUserPassword"))
    scaling = req.get("ServerlessV2ScalingConfiguration")
    cluster = ctx.rds().clusters.get((req.get("DBClusterIdentifier") or "").lower())
    if scaling is None or cluster is None or cluster.engine != "aurora-postgresql":
        return
    version = resolve_version(req.get("EngineVersion") or cluster.engine_version)
    if version is not None:
        check_scaling(version, scaling)


@rule("rds", "RestoreDBClusterFromSnapshot")
def aurora_restore(req, ctx):
    if req.get("Engine") != "aurora-postgresql" or req.get("ServerlessV2ScalingConfiguration") is None:
        return
    version = req.get("EngineVersion")
    if not version:
        snap = ctx.rds().cluster_snapshots.get(req.get("SnapshotIdentifier") or "")
        version = getattr(getattr(snap, "cluster", None), "engine_version", None)
    version = resolve_version(version or DEFAULT_AURORA_POSTGRESQL)
    if version is None:
        raise Refusal("InvalidParameterCombination",
                      f"Cannot find version {req.get('EngineVersion')} for aurora-postgresql")
    check_scaling(version, req["ServerlessV2ScalingConfiguration"])


# ------------------------------------------------------------------ CloudWatch Logs
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
# retentionInDays: "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400,
# 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653."
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                  2192, 2557, 2922, 3288, 3653]


@rule("logs", "PutRetentionPolicy")
def log_retention(req, ctx):
    days = req.get("retentionInDays")
    if days is not None and days not in RETENTION_DAYS:
        raise Refusal("InvalidParameterException", f"1 validation error detected: Value '{days}' "
                      "at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum "
                      f"value set: [{', '.join(str(d) for d in RETENTION_DAYS)}]")


# ------------------------------------------------------------------ ECS (Fargate)
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
# (and API_RegisterTaskDefinition.html, "cpu"/"memory"): the task-level CPU and memory pairs.
def _gb(n):
    return n * 1024


FARGATE_SIZES = {
    256: [512, 1024, 2048],
    512: [_gb(g) for g in range(1, 5)],
    1024: [_gb(g) for g in range(2, 9)],
    2048: [_gb(g) for g in range(4, 17)],
    4096: [_gb(g) for g in range(8, 31)],
    8192: [_gb(g) for g in range(16, 61, 4)],
    16384: [_gb(g) for g in range(32, 121, 8)],
}


def _units(text, unit, scale):
    text = str(text).strip()
    m = re.fullmatch(rf"(\d+(?:\.\d+)?)\s*{unit}", text, re.IGNORECASE)
    if m:
        return int(float(m.group(1)) * scale)
    return int(text) if text.isdigit() else None


@rule("ecs", "RegisterTaskDefinition")
def fargate_size(req, ctx):
    if "FARGATE" not in (req.get("requiresCompatibilities") or []):
        return
    for what in ("cpu", "memory"):
        if not req.get(what):
            raise Refusal("ClientException", f"Fargate requires that '{what}' be defined at the task level.")
    cpu = _units(req["cpu"], "vcpu", 1024)
    memory = _units(req["memory"], "gb", 1024)
    if cpu not in FARGATE_SIZES or memory not in FARGATE_SIZES[cpu]:
        raise Refusal("ClientException", f"No Fargate configuration exists for given values: "
                      f"{req['cpu']} CPU, {req['memory']} memory. See the Amazon ECS documentation "
                      "for the valid values.")


# ------------------------------------------------------------------ EC2 security groups
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
# GroupName and Description: "Up to 255 characters in length. Valid characters: a-z, A-Z,
# 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"; a name "Can't start with sg-".
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html (rule descriptions):
# "Constraints: Up to 255 characters in length. Allowed characters are a-z, A-Z, 0-9, spaces,
# and ._-:/()#,@[]+=&;{}!$*".
SG_TEXT = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$")


@rule("ec2", "CreateSecurityGroup")
def security_group_text(req, ctx):
    name, description = req.get("GroupName", ""), req.get("Description", "")
    if name.lower().startswith("sg-"):
        raise Refusal("InvalidParameterValue", f"Value ({name}) for parameter GroupName is "
                      "invalid. Group names may not be in the format sg-*.")
    for param, value in (("GroupName", name), ("GroupDescription", description)):
        if not SG_TEXT.match(value):
            raise Refusal("InvalidParameterValue", f"Value ({value}) for parameter {param} is "
                          "invalid. Valid characters: a-z, A-Z, 0-9, spaces, and "
                          "._-:/()#,@[]+=&;{}!$* (up to 255).")


@rule("ec2", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
      "UpdateSecurityGroupRuleDescriptionsIngress", "UpdateSecurityGroupRuleDescriptionsEgress")
def security_group_rule_descriptions(req, ctx):
    for perm in req.get("IpPermissions") or []:
        for key in ("IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"):
            for item in perm.get(key) or []:
                text = item.get("Description")
                if text is not None and not SG_TEXT.match(text):
                    raise Refusal("InvalidParameterValue", "Invalid rule description. Valid "
                                  "descriptions are strings less than 256 characters from the "
                                  "following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")


# ------------------------------------------------------------------ S3
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def bucket_name_ok(name):
    return bool(
        BUCKET.match(name)
        and ".." not in name
        and not IPV4.match(name)
        and not name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )


@rule("s3", "CreateBucket")
def bucket_name(req, ctx):
    if not bucket_name_ok(req.get("Bucket", "")):
        raise Refusal("InvalidBucketName", "The specified bucket is not valid.")


# ------------------------------------------------------------------ Secrets Manager
# https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
# (InvalidRequestException: "You tried to create a secret with a name that is already
# scheduled for deletion" is listed among its errors; the recovery window must pass or the
# secret be restored first).
@rule("secretsmanager", "CreateSecret")
def secret_scheduled_for_deletion(req, ctx):
    secret = ctx.secrets().secrets.get(req.get("Name", ""))
    if secret is not None and getattr(secret, "deleted_date", None) is not None:
        raise Refusal("InvalidRequestException", "You can't create this secret because a secret "
                      "with this name is already scheduled for deletion.")
