"""ThreatDetection: GuardDuty with EKS protection, and IAM Access Analyzer (CONTROLS EKS-7).

- A GuardDuty detector with EKS audit-log monitoring and runtime monitoring, whose EKS add-on
  GuardDuty manages itself (``EKS_ADDON_MANAGEMENT``), so that every cluster the platform
  creates in this account and region is covered without a per-cluster step.
- IAM Access Analyzer: an account analyzer for access from outside the account, and an
  internal-access analyzer for the bucket types it supports, so that access across tenants inside
  the account (e.g. a tenant role reaching another tenant's model bucket) surfaces at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import naming
from infra.config import Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:threat_detection:ThreatDetection"

FINDING_FREQUENCY = "FIFTEEN_MINUTES"
# GuardDuty features (DetectorFeature names) and the additional configuration each one gets.
FEATURES: dict[str, tuple[str, ...]] = {
    "EKS_AUDIT_LOGS": (),
    "RUNTIME_MONITORING": ("EKS_ADDON_MANAGEMENT",),
}
# The resource types the internal-access analyzer supports that hold models and datasets.
INTERNAL_ACCESS_TYPES = ("AWS::S3::Bucket", "AWS::S3Express::DirectoryBucket")


@dataclass
class ThreatDetectionArgs:
    """The stack."""

    settings: Settings


class ThreatDetection(pulumi.ComponentResource):
    """The GuardDuty detector and its EKS features, and the two access analyzers."""

    detector: aws.guardduty.Detector
    features: dict[str, aws.guardduty.DetectorFeature]
    analyzers: dict[str, aws.accessanalyzer.Analyzer]

    def __init__(self, name: str, args: ThreatDetectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.detector = aws.guardduty.Detector(
            name, enable=True, finding_publishing_frequency=FINDING_FREQUENCY, opts=child
        )
        self.features = {
            feature: aws.guardduty.DetectorFeature(
                f"{name}-{feature.lower().replace('_', '-')}",
                detector_id=self.detector.id,
                name=feature,
                status="ENABLED",
                additional_configurations=[{"name": extra, "status": "ENABLED"} for extra in extras] or None,
                opts=child,
            )
            for feature, extras in FEATURES.items()
        }
        self.analyzers = {
            "external": aws.accessanalyzer.Analyzer(
                f"{name}-external",
                analyzer_name=naming.resource_name(settings.environment, PLATFORM, "external-access"),
                type="ACCOUNT",
                opts=child,
            ),
            "internal": aws.accessanalyzer.Analyzer(
                f"{name}-internal",
                analyzer_name=naming.resource_name(settings.environment, PLATFORM, "internal-access"),
                type="ACCOUNT_INTERNAL_ACCESS",
                configuration={
                    "internal_access": {
                        "analysis_rule": {"inclusions": [{"resource_types": list(INTERNAL_ACCESS_TYPES)}]}
                    }
                },
                opts=child,
            ),
        }
        self.register_outputs(
            {"detectorId": self.detector.id, "analyzerArns": {k: a.arn for k, a in self.analyzers.items()}}
        )
