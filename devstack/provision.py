"""Create every resource of infra/resources.yaml on the emulator, in dependency order."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from devstack.cfn import Resolver, load_template

MOTO_ACCOUNT_ID = "123456789012"

# Resource types that exist only for IAM on AWS and have no effect on the emulator.
_NO_LOCAL_EFFECT = frozenset({"AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"})


@dataclass
class Provisioned:
    """What was created: physical ids, ARNs, and the Lambda environment it implies."""

    stage: str
    region: str
    physical: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)


class LocalProvisioner:
    """Translates each CloudFormation resource into the API calls that create it."""

    def __init__(self, endpoint_url: str, region: str, stage: str = "local") -> None:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        config = Config(retries={"mode": "standard", "max_attempts": 3})

        def client(name: str) -> Any:
            return session.client(name, endpoint_url=endpoint_url, config=config)

        self._dynamodb = client("dynamodb")
        self._s3 = client("s3")
        self._sqs = client("sqs")
        self._sns = client("sns")
        self._ses = client("ses")
        self._events = client("events")
        self._template = load_template()
        self._resources: dict[str, Any] = self._template["Resources"]
        self.result = Provisioned(stage=stage, region=region)
        self._resolver = Resolver(
            parameters={"Stage": stage},
            pseudo={
                "AWS::AccountId": MOTO_ACCOUNT_ID,
                "AWS::Region": region,
                "AWS::Partition": "aws",
                "AWS::StackName": f"relance-{stage}",
            },
            ref=self._ref,
            get_att=self._get_att,
        )
        self._creators: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::Rule": self._rule,
            "AWS::SNS::Topic": self._topic,
            "AWS::SES::ConfigurationSet": self._configuration_set,
            "AWS::SES::ConfigurationSetEventDestination": self._event_destination,
        }

    # -- resolution --

    def _ensure(self, logical_id: str) -> None:
        if logical_id in self.result.physical:
            return
        resource = self._resources.get(logical_id)
        if resource is None:
            raise KeyError(f"template has no resource {logical_id}")
        kind = resource["Type"]
        properties = self._resolver.resolve(resource.get("Properties", {}))
        if kind in _NO_LOCAL_EFFECT:
            self.result.physical[logical_id] = logical_id
            return
        creator = self._creators.get(kind)
        if creator is None:
            raise NotImplementedError(
                f"{logical_id}: the local stack cannot create {kind}; teach devstack/provision.py"
            )
        creator(logical_id, properties)

    def _ref(self, logical_id: str) -> str:
        self._ensure(logical_id)
        return self.result.physical[logical_id]

    def _get_att(self, logical_id: str, attribute: str) -> str:
        self._ensure(logical_id)
        if attribute != "Arn":
            raise NotImplementedError(f"Fn::GetAtt {logical_id}.{attribute}")
        return self.result.arns[logical_id]

    # -- creators --

    def _table(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props["TableName"]
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        description = self._dynamodb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self._dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        self.result.physical[logical_id] = name
        self.result.arns[logical_id] = description["TableArn"]

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props["BucketName"]
        self._s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.result.region}
        )
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            self._s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
        notification = props.get("NotificationConfiguration", {})
        if notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            self._s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        self.result.physical[logical_id] = name
        self.result.arns[logical_id] = f"arn:aws:s3:::{name}"

    def _queue(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props["QueueName"]
        attributes = {
            key: str(props[key])
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
            if key in props
        }
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = self._sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.result.physical[logical_id] = url
        self.result.arns[logical_id] = f"arn:aws:sqs:{self.result.region}:{MOTO_ACCOUNT_ID}:{name}"

    def _rule(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props["Name"]
        arn = self._events.put_rule(
            Name=name,
            EventPattern=json.dumps(props["EventPattern"]),
            State=props.get("State", "ENABLED"),
            Description=props.get("Description", ""),
        )["RuleArn"]
        self._events.put_targets(
            Rule=name, Targets=[{"Id": t["Id"], "Arn": t["Arn"]} for t in props["Targets"]]
        )
        self.result.physical[logical_id] = name
        self.result.arns[logical_id] = arn

    def _topic(self, logical_id: str, props: dict[str, Any]) -> None:
        arn = self._sns.create_topic(Name=props["TopicName"])["TopicArn"]
        self.result.physical[logical_id] = arn
        self.result.arns[logical_id] = arn

    def _configuration_set(self, logical_id: str, props: dict[str, Any]) -> None:
        self._ses.create_configuration_set(ConfigurationSet={"Name": props["Name"]})
        self.result.physical[logical_id] = props["Name"]
        self.result.arns[logical_id] = (
            f"arn:aws:ses:{self.result.region}:{MOTO_ACCOUNT_ID}:configuration-set/{props['Name']}"
        )

    def _event_destination(self, logical_id: str, props: dict[str, Any]) -> None:
        destination = props["EventDestination"]
        self._ses.create_configuration_set_event_destination(
            ConfigurationSetName=props["ConfigurationSetName"],
            EventDestination={
                "Name": destination["Name"],
                "Enabled": destination.get("Enabled", True),
                "MatchingEventTypes": destination["MatchingEventTypes"],
                "SNSDestination": {"TopicARN": destination["SnsDestination"]["TopicARN"]},
            },
        )
        self.result.physical[logical_id] = destination["Name"]

    # -- entry point --

    def provision(self) -> Provisioned:
        for logical_id in self._resources:
            self._ensure(logical_id)
        variables = self._template["Globals"]["Function"]["Environment"]["Variables"]
        self.result.environment = {k: str(v) for k, v in self._resolver.resolve(variables).items()}
        return self.result


def provision(endpoint_url: str, region: str, stage: str = "local") -> Provisioned:
    """Create the whole stack on the emulator at `endpoint_url`."""
    return LocalProvisioner(endpoint_url, region, stage).provision()
