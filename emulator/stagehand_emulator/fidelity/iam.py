"""IAM: service-linked roles carry the names AWS gives them.

moto derives the name from the service principal (AWSServiceRoleForcodestar-notifications);
AWS uses a fixed name per service. Both put the role under /aws-service-role/<principal>/.
"""

from moto.iam import exceptions, models

AWS_SLR_NAMES = {
    "codestar-notifications.amazonaws.com": "AWSServiceRoleForCodeStarNotifications",
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
    "rds.amazonaws.com": "AWSServiceRoleForRDS",
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
}


def install():
    original = models.IAMBackend.create_service_linked_role

    def create_service_linked_role(self, service_name, description, suffix):
        name = AWS_SLR_NAMES.get(service_name)
        if name is None:
            return original(self, service_name, description, suffix)
        if suffix:
            name = f"{name}_{suffix}"
        # AWS: "Service role name AWSServiceRoleForECS has been taken in this account".
        if name in [r.name for r in self.roles.values()]:
            raise exceptions.InvalidInput(
                f"Service role name {name} has been taken in this account, please try a different suffix.",
            )
        policy = (
            '{"Version": "2012-10-17", "Statement": [{"Action": ["sts:AssumeRole"], '
            f'"Effect": "Allow", "Principal": {{"Service": ["{service_name}"]}}}}]}}'
        )
        return self.create_role(
            name, policy, f"/aws-service-role/{service_name}/",
            permissions_boundary=None, description=description, tags=[],
            max_session_duration="3600", linked_service=service_name,
        )

    models.IAMBackend.create_service_linked_role = create_service_linked_role
