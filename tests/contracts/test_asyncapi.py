"""The AsyncAPI document describes every topic and event type, matches the code, and its schemas accept real events."""

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contracts.asyncapi import DOCUMENT, build_document, render
from contracts.events.envelope import build_cloudevent
from contracts.events.policy import EnterpriseRegistered
from contracts.events.registry import EVENT_TYPES
from contracts.topics import ALL_TOPICS


def test_committed_document_is_what_the_schemas_generate():
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "run `make asyncapi` and commit docs/asyncapi.yaml"


def test_every_topic_and_its_dead_letter_twin_is_a_channel():
    addresses = {c["address"] for c in build_document()["channels"].values()}
    assert addresses == set(ALL_TOPICS)


def test_every_event_type_is_a_message_on_its_topic():
    doc = build_document()
    for event in EVENT_TYPES.values():
        assert doc["components"]["messages"][event.name]["name"] == event.type
        channel = next(c for c in doc["channels"].values() if c["address"] == event.topic)
        assert event.name in channel["messages"]


def _resolve_all_refs(node, doc, path="#"):
    if isinstance(node, dict):
        if "$ref" in node:
            target = doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                assert part in target, f"{path}: dangling $ref {node['$ref']}"
                target = target[part]
        for key, value in node.items():
            _resolve_all_refs(value, doc, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _resolve_all_refs(value, doc, f"{path}/{i}")


def test_every_reference_resolves():
    doc = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    _resolve_all_refs(doc, doc)


@pytest.fixture
def enterprise_event():
    payload = EnterpriseRegistered(
        credit_code="91110108551385082Q", name="示例单位", industry="MINE", district="房山区", headcount=10, jurisdiction="beijing", must_insure=True
    )
    return build_cloudevent(payload, subject="enterprises/91110108551385082Q", partition_key="91110108551385082Q")


def _message_validator(doc, name):
    registry = Registry().with_resource("urn:asyncapi", Resource.from_contents(doc, default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"urn:asyncapi#/components/messages/{name}/payload"}, registry=registry)


def test_a_real_event_validates_against_its_message_schema(enterprise_event):
    doc = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    _message_validator(doc, "EnterpriseRegistered").validate(enterprise_event)


def test_an_event_with_a_broken_payload_fails_its_message_schema(enterprise_event):
    doc = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    broken = enterprise_event | {"data": enterprise_event["data"] | {"industry": "NOT_AN_INDUSTRY"}}
    with pytest.raises(jsonschema.ValidationError):
        _message_validator(doc, "EnterpriseRegistered").validate(broken)
    without_key = {k: v for k, v in enterprise_event.items() if k != "partitionkey"}
    with pytest.raises(jsonschema.ValidationError):
        _message_validator(doc, "EnterpriseRegistered").validate(without_key)
