"""The standards data is consistent with itself, the catalog and the installed provider SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiplatform_standards as standards

ROOT = Path(__file__).resolve().parents[1]


def test_taggable_types_match_the_installed_pulumi_aws() -> None:
    result = subprocess.run(
        [sys.executable, "tools/gen_taggable_types.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_catalog_ids_are_unique_and_match_controls_md_areas() -> None:
    ids = [control.id for control in standards.controls()]
    assert len(ids) == len(set(ids)) == 63
    assert {identifier.split("-")[0] for identifier in ids} == {
        "KMS",
        "REG",
        "EKS",
        "NODE",
        "NET",
        "TEN",
        "IAM",
        "AUD",
        "COST",
    }


def test_classification_map_covers_every_classification_and_only_known_tiers() -> None:
    data = standards.platform()
    assert list(data["classification_tiers"]) == data["classifications"]
    for tiers in data["classification_tiers"].values():
        assert set(tiers) <= set(data["tiers"])
    assert standards.allowed_tiers("regulated") == ("single-tenant",)
    assert standards.classification_rank("public") < standards.classification_rank("regulated")


def test_standard_tag_keys_share_the_prefix() -> None:
    tags = standards.platform()["tags"]
    assert all(key.startswith(tags["prefix"]) for key in tags["required"] + tags["optional"])
