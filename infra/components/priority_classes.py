"""The cluster's priority classes (the guide, §5; CONTROLS TEN-8).

production-inference > production-training > experimentation, values from the standards
(platform.yaml ``priority_classes``). Experimentation never preempts (``preemptionPolicy: Never``)
and is what every other class may preempt.

None is the cluster's ``globalDefault``: a global default would also apply to the platform's own
pods in kube-system and to anything created without a tenant. Tenants instead name their class in
their pods' ``priorityClassName``; a tenant that names none in its config is given
``experimentation`` (``Tenant.priority_class`` defaults to it, and the standards mark it
``default_for_tenants``), so its workloads are preemptible by default.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from aiplatform_standards import platform

TYPE = "secure-ai-platform:priority_classes:PriorityClasses"


def tenant_default_class() -> str:
    """The class tenants get when their config names none (the standards' ``default_for_tenants``)."""
    return next(pc["name"] for pc in platform()["priority_classes"] if pc.get("default_for_tenants"))


@dataclass
class PriorityClassesArgs:
    """Inputs of the priority classes: the cluster's Kubernetes provider."""

    provider: k8s.Provider


class PriorityClasses(pulumi.ComponentResource):
    """One PriorityClass per row of the standards, highest first."""

    classes: dict[str, k8s.scheduling.v1.PriorityClass]

    def __init__(self, name: str, args: PriorityClassesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[args.provider]))
        )
        default = tenant_default_class()
        self.classes = {}
        for row in platform()["priority_classes"]:
            class_name = row["name"]
            preemptible = row["preemption"] == "Never"
            description = (
                f"{class_name}: preemptible, never preempts"
                + (" (the tenants' default)" if class_name == default else "")
                if preemptible
                else f"{class_name}: may preempt lower classes"
            )
            self.classes[class_name] = k8s.scheduling.v1.PriorityClass(
                f"{name}-{class_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=class_name),
                value=row["value"],
                preemption_policy=row["preemption"],
                global_default=False,
                description=description,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"names": list(self.classes)})
