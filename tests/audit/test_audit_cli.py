"""``python -m audit``: options, formats, --state, exit codes, and the module run as a program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import boto3
import jsonschema
import pytest
from audit_emulator import REGION
from audit_seed import PLATFORM, STACK, Environment, tag_list, tags
from audit_state import write_export

from audit.__main__ import main
from audit.registry import checks

REPORT_SCHEMA = json.loads(resources.files("audit").joinpath("report-schema.json").read_text(encoding="utf-8"))
# The parts of SARIF 2.1.0 that code scanning reads, as the OASIS schema states them.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "defaultConfiguration": {
                                                    "properties": {
                                                        "level": {"enum": ["none", "note", "warning", "error"]}
                                                    }
                                                }
                                            },
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "kind", "level"],
                            "properties": {
                                "message": {"type": "object", "required": ["text"]},
                                "kind": {"enum": ["notApplicable", "pass", "fail", "review", "open", "informational"]},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "locations": {"type": "array"},
                            },
                            # SARIF 3.27.9: a level other than "none" requires kind "fail".
                            "if": {"properties": {"kind": {"not": {"const": "fail"}}}},
                            "then": {"properties": {"level": {"const": "none"}}},
                        },
                    },
                },
            },
        },
    },
}


def run(session: boto3.Session, emulator: str, *options: str) -> int:
    return main(["--stack", STACK, "--region", REGION, "--endpoint-url", emulator, *options], session=session)


def drift(env: Environment) -> None:
    env.client("s3").delete_public_access_block(Bucket=env.buckets["fraud"])


def test_json_report(env: Environment, audit_session: boto3.Session, emulator: str, tmp_path: Path) -> None:
    drift(env)
    output = tmp_path / "audit.json"
    assert run(audit_session, emulator, "--format", "json", "--output", str(output)) == 1
    report = json.loads(output.read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["stack"] == STACK
    assert report["region"] == REGION
    assert report["findings"] == [
        {
            "check": "s3-public-access-block",
            "controls": ["REG-7"],
            "severity": "high",
            "resource": f"arn:aws:s3:::{env.buckets['fraud']}",
            "status": "fail",
            "message": "the bucket has no public access block",
            "remediation": "Set the bucket's public access block with all four flags true (in the stack).",
        }
    ]
    assert report["summary"]["failed"] == 1
    assert report["summary"]["notEvaluated"] == 0
    assert report["summary"]["checked"] > 100


def test_sarif_report(
    env: Environment, audit_session: boto3.Session, emulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    drift(env)
    from audit_emulator import deny

    deny(audit_session.events, "ecr", "GetLifecyclePolicy")
    assert run(audit_session, emulator, "--format", "sarif") == 1
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, SARIF_SUBSET)
    run_ = sarif["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [check.id for check in checks()]
    by_kind = {(result["kind"], result["level"], result["ruleId"]) for result in run_["results"]}
    assert by_kind == {("fail", "error", "s3-public-access-block"), ("open", "none", "ecr-lifecycle-policy")}
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("arn:aws:")
        # Code scanning needs a file: the stack's config, where the fix goes (as preflight reports).
        assert location["physicalLocation"]["artifactLocation"] == {
            "uri": f"stacks/Pulumi.{STACK}.yaml",
            "uriBaseId": "%SRCROOT%",
        }
        assert len(result["partialFingerprints"]["auditFinding/v1"]) == 64


def test_text_report_and_exit_code_for_not_evaluated(
    env: Environment, audit_session: boto3.Session, emulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from audit_emulator import deny

    deny(audit_session.events, "cloudtrail", "GetTrailStatus")
    assert run(audit_session, emulator) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"audit of stack {STACK} in {REGION} (account 123456789012): 27 resources")
    assert "NOT EVALUATED [high] cloudtrail-configuration (AUD-1)" in out
    assert f"resource: {env.trail}" in out
    assert "access denied on cloudtrail:GetTrailStatus" in out


def test_clean_stack_exits_zero(env: Environment, audit_session: boto3.Session, emulator: str) -> None:
    assert run(audit_session, emulator, "--format", "json") == 0


def test_state_reports_unmanaged_and_missing(
    env: Environment, audit_session: boto3.Session, emulator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = write_export(env, tmp_path / "state.json")
    ec2 = env.client("ec2")
    group = ec2.create_security_group(
        GroupName="copied-by-hand",
        Description="x",
        VpcId=env.vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(tags(PLATFORM))}],
    )["GroupId"]
    env.client("ecr").delete_repository(repositoryName="dev/vision-ml/inference", force=True)
    assert run(audit_session, emulator, "--state", str(state), "--format", "json") == 1
    findings = {(f["check"], f["resource"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    assert findings == {
        ("state-unmanaged", f"arn:aws:ec2:{REGION}:123456789012:security-group/{group}"),
        ("state-missing", env.repositories["vision-ml"]),
    }


def test_unreadable_state_is_not_run(
    audit_session: boto3.Session, emulator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "state.json"
    broken.write_text("{not json")
    assert run(audit_session, emulator, "--state", str(broken)) == 2
    assert "cannot read the state" in capsys.readouterr().err


def test_no_region_is_not_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert main(["--stack", STACK]) == 2
    assert "no region" in capsys.readouterr().err


def test_runs_as_a_program_with_a_profile(emulator: str, tmp_path: Path) -> None:
    """The real entry point, in its own process, with credentials and region from a named profile."""
    config = tmp_path / "config"
    config.write_text(
        "[profile auditor]\nregion = us-east-1\naws_access_key_id = auditor\naws_secret_access_key = auditor\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "audit",
            "--stack",
            "empty-stack",
            "--profile",
            "auditor",
            "--endpoint-url",
            emulator,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["region"] == "us-east-1"
    assert report["findings"] == []
