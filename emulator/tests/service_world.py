"""A service's world made with plain SDK calls, as svc-up makes it: a VPC with two private
subnets, a security group, a cluster, a log group, an ECR repository, a secret and a parameter,
a task execution role (AmazonECSTaskExecutionRolePolicy plus an inline policy for the secret
and the parameter), an ip target group, a task definition and a Fargate service with the
circuit breaker's rollback on."""

import json

from lifecycle_support import ACCOUNT, REGION

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
MANAGED = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


class World:
    def __init__(self, emu, app="unicorn"):
        self.emu = emu
        self.app = app
        ec2 = emu.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.vpc = vpc
        self.subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{10 + i}.0/24",
                              AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
            for i, z in enumerate("ab")
        ]
        self.sg = ec2.create_security_group(GroupName=f"{app}-task", Description="task", VpcId=vpc)["GroupId"]
        self.cluster = emu.client("ecs").create_cluster(clusterName=f"{app}-cluster")["cluster"]["clusterArn"]
        self.log_group = f"/ecs/{app}"
        emu.client("logs").create_log_group(logGroupName=self.log_group)
        repo = emu.client("ecr").create_repository(repositoryName=app)["repository"]
        self.repo_uri = repo["repositoryUri"]
        sm = emu.client("secretsmanager")
        self.secret_arn = sm.create_secret(Name=f"{app}-token", SecretString="s3cret")["ARN"]
        ssm = emu.client("ssm")
        ssm.put_parameter(Name=f"/{app}/POSTGRES_HOST", Value="db.local", Type="String")
        self.parameter_arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{app}/POSTGRES_HOST"
        iam = emu.client("iam")
        self.role_name = f"{app}-task-execution"
        self.role_arn = iam.create_role(RoleName=self.role_name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.attach_role_policy(RoleName=self.role_name, PolicyArn=MANAGED)
        self.put_exec_policy([self.secret_arn], [self.parameter_arn])
        elb = emu.client("elbv2")
        self.tg = elb.create_target_group(Name=f"{app}-tg", Protocol="HTTP", Port=7007, VpcId=vpc,
                                          TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        self.service = app

    def put_exec_policy(self, secrets, parameters):
        self.emu.client("iam").put_role_policy(
            RoleName=self.role_name, PolicyName="read-secrets",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secrets},
                {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": parameters},
            ]}))

    def push(self, tag, seed=None):
        from stagehand_emulator.fidelity import ecr_images, sim

        with sim.lock:
            ecr_images.push(ACCOUNT, REGION, self.app, [tag], seed or tag)

    def register(self, image):
        return self.emu.client("ecs").register_task_definition(
            family=self.app,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="1024",
            memory="2048",
            executionRoleArn=self.role_arn,
            containerDefinitions=[{
                "name": self.app,
                "image": image,
                "essential": True,
                "portMappings": [{"containerPort": 7007, "protocol": "tcp"}],
                "secrets": [
                    {"name": "GITHUB_TOKEN", "valueFrom": self.secret_arn},
                    {"name": "POSTGRES_HOST", "valueFrom": self.parameter_arn},
                ],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": self.log_group, "awslogs-region": REGION,
                    "awslogs-stream-prefix": "ecs"}},
            }],
        )["taskDefinition"]["taskDefinitionArn"]

    def create_service(self, task_definition, desired=2):
        return self.emu.client("ecs").create_service(
            cluster=self.cluster,
            serviceName=self.service,
            taskDefinition=task_definition,
            desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": self.subnets, "securityGroups": [self.sg], "assignPublicIp": "DISABLED"}},
            loadBalancers=[{"targetGroupArn": self.tg, "containerName": self.app, "containerPort": 7007}],
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        )["service"]

    def describe(self):
        return self.emu.client("ecs").describe_services(cluster=self.cluster, services=[self.service])["services"][0]

    def tasks(self, status="RUNNING"):
        ecs = self.emu.client("ecs")
        arns = ecs.list_tasks(cluster=self.cluster, serviceName=self.service, desiredStatus=status)["taskArns"]
        return ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []

    def settled(self):
        """The service once its primary deployment is no longer IN_PROGRESS."""
        from lifecycle_support import wait_for

        def done():
            s = self.describe()
            primary = next(d for d in s["deployments"] if d["status"] == "PRIMARY")
            return s if primary["rolloutState"] != "IN_PROGRESS" and not primary.get("_") else None

        return wait_for(done, what="the rollout to end")


PIPELINE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
BUILD_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def make_pipeline(world, name=None, connection=None):
    """An artifact bucket, a CodeBuild project and a three-stage pipeline for `world`'s service,
    as pipeline-up makes them (the CodeBuild project's REPO_URL / CONTAINER_NAME name the
    repository and container)."""
    emu, app = world.emu, world.app
    name = name or f"{app}-pipeline"
    bucket = f"{app}-artifacts-{ACCOUNT}"
    emu.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    iam = emu.client("iam")
    build_role = iam.create_role(RoleName=f"{app}-build", AssumeRolePolicyDocument=BUILD_TRUST)["Role"]["Arn"]
    pipeline_role = iam.create_role(RoleName=f"{app}-pipeline", AssumeRolePolicyDocument=PIPELINE_TRUST)["Role"]["Arn"]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{app}"
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/codebuild/{app}"
    iam.put_role_policy(RoleName=f"{app}-build", PolicyName="build", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Sid": "Artifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": f"{bucket_arn}/*"},
            {"Sid": "Push", "Effect": "Allow", "Action": [
                "ecr:BatchCheckLayerAvailability", "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload",
                "ecr:PutImage", "ecr:UploadLayerPart"], "Resource": repo_arn},
            {"Sid": "Login", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                                          "logs:PutLogEvents"],
             "Resource": [group_arn, f"{group_arn}:*"]},
        ]}))
    cluster = world.cluster.rsplit("/", 1)[-1]
    iam.put_role_policy(RoleName=f"{app}-pipeline", PolicyName="pipeline", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Sid": "Artifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": f"{bucket_arn}/*"},
            {"Sid": "Build", "Effect": "Allow", "Action": ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
             "Resource": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/codebuild-{app}"},
            {"Sid": "Service", "Effect": "Allow", "Action": ["ecs:DescribeServices", "ecs:UpdateService"],
             "Resource": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{world.service}"},
            {"Sid": "TaskDefinitions", "Effect": "Allow",
             "Action": ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], "Resource": "*"},
            {"Sid": "PassRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": world.role_arn,
             "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
            {"Sid": "Connection", "Effect": "Allow", "Action": "codestar-connections:UseConnection",
             "Resource": connection or "arn:aws:codestar-connections:us-west-2:123456789012:connection/none"},
        ]}))
    emu.client("codebuild").create_project(
        name=f"codebuild-{app}",
        source={"type": "CODEPIPELINE", "buildspec": "templates/buildspec.yml"},
        artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True,
                     "environmentVariables": [
                         {"name": "REPO_URL", "value": world.repo_uri, "type": "PLAINTEXT"},
                         {"name": "CONTAINER_NAME", "value": app, "type": "PLAINTEXT"}]},
        serviceRole=build_role,
        logsConfig={"cloudWatchLogs": {"status": "ENABLED", "groupName": f"/aws/codebuild/{app}"}},
    )
    if connection:
        source = {"name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS",
                                                     "provider": "CodeStarSourceConnection", "version": "1"},
                  "configuration": {"ConnectionArn": connection, "FullRepositoryId": "my-org/backstage-app",
                                    "BranchName": "main"},
                  "outputArtifacts": [{"name": "SourceArtifact"}]}
    else:
        source = {"name": "Source", "actionTypeId": {"category": "Source", "owner": "ThirdParty",
                                                     "provider": "GitHub", "version": "1"},
                  "configuration": {"Owner": "my-org", "Repo": "backstage-app", "Branch": "main",
                                    "OAuthToken": "ghp_secret", "PollForSourceChanges": "true"},
                  "outputArtifacts": [{"name": "SourceArtifact"}]}
    emu.client("codepipeline").create_pipeline(pipeline={
        "name": name,
        "roleArn": pipeline_role,
        "artifactStore": {"type": "S3", "location": bucket},
        "stages": [
            {"name": "Source", "actions": [source]},
            {"name": "Build", "actions": [{
                "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild",
                                                  "version": "1"},
                "configuration": {"ProjectName": f"codebuild-{app}"},
                "inputArtifacts": [{"name": "SourceArtifact"}], "outputArtifacts": [{"name": "BuildArtifact"}]}]},
            {"name": "Deploy", "actions": [{
                "name": "Deploy", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "ECS",
                                                   "version": "1"},
                "configuration": {"ClusterName": world.cluster.rsplit("/", 1)[-1], "ServiceName": world.service,
                                  "FileName": "imagedefinition.json"},
                "inputArtifacts": [{"name": "BuildArtifact"}]}]},
        ],
    })
    return name
