"""The merged OpenAPI document, Swagger UI from local assets, and readiness across the services."""

import re

import pytest

from gateway.openapi import merge_documents


def resolve(document: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def all_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_refs(item)


@pytest.fixture(scope="module")
async def merged(http, gateway) -> dict:
    response = await http.get(f"{gateway.url}/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_paths_of_every_reachable_service_are_prefixed(merged):
    paths = merged["paths"]
    assert "/oauth/token" in paths and "/.well-known/jwks.json" in paths
    assert "/api/v1/policy/items" in paths and "/api/v1/claims/items" in paths
    assert "/api/v1/monitoring/public/evaluations" in paths
    assert not any(p.startswith("/items") for p in paths)
    assert merged["servers"] == [{"url": "/"}]


async def test_a_service_that_is_down_is_named_not_fatal(merged):
    assert merged["x-unavailable-services"] == ["prevention"]
    assert not any(p.startswith("/api/v1/prevention") for p in merged["paths"])


async def test_operation_ids_and_tags_carry_the_service(merged):
    operation = merged["paths"]["/api/v1/claims/items"]["get"]
    assert operation["operationId"] == "claims_list_items"
    assert operation["tags"] == ["claims"]
    ids = [op["operationId"] for item in merged["paths"].values() for op in item.values() if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids))
    assert {"policy", "claims", "monitoring", "gateway"} <= {tag["name"] for tag in merged["tags"]}


async def test_colliding_schema_names_are_split_and_every_ref_resolves(merged):
    schemas = merged["components"]["schemas"]
    assert set(schemas["policy_Item"]["properties"]) == {"name", "premium"}
    assert set(schemas["claims_Item"]["properties"]) == {"claim_no", "amount"}
    assert "Item" not in schemas
    # Page reads the same in both services but refers to different Items, so it is split too.
    assert schemas["claims_Page"]["properties"]["items"]["items"]["$ref"] == "#/components/schemas/claims_Item"
    assert schemas["policy_Page"]["properties"]["items"]["items"]["$ref"] == "#/components/schemas/policy_Item"
    # The same Problem everywhere appears once.
    assert "Problem" in schemas and not any(name.endswith("_Problem") for name in schemas)
    response = merged["paths"]["/api/v1/claims/items"]["get"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/claims_Page"
    refs = list(all_refs(merged))
    assert refs
    for ref in refs:
        resolve(merged, ref)


async def test_every_service_operation_requires_the_gateway_token(merged):
    flow = merged["components"]["securitySchemes"]["OAuth2ClientCredentials"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert "policy:write" in flow["scopes"]
    assert merged["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    for path, item in merged["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            expected = [] if path.startswith("/api/v1/monitoring/public/") else [{"OAuth2ClientCredentials": []}, {"BearerToken": []}]
            assert operation["security"] == expected, (path, method)
            assert "429" in operation["responses"] and "502" in operation["responses"]


async def test_token_endpoint_is_documented_as_a_form(merged):
    operation = merged["paths"]["/oauth/token"]["post"]
    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
    assert "422" not in operation["responses"]
    assert operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/OAuthProblem"


def test_merge_keeps_identical_schemas_once_without_fetching():
    shared = {"type": "object", "properties": {"a": {"type": "string"}}}
    docs = {
        "policy": {"paths": {"/a": {"get": {"operationId": "a", "responses": {}}}}, "components": {"schemas": {"Shared": shared}}},
        "claims": {"paths": {"/b": {"get": {"operationId": "b", "responses": {}}}}, "components": {"schemas": {"Shared": dict(shared)}}},
    }
    merged = merge_documents({"paths": {}}, docs, unavailable=[], title="t", version="1")
    assert list(merged["components"]["schemas"]) == ["Shared"]
    assert merged["paths"]["/api/v1/policy/a"]["get"]["operationId"] == "policy_a"


async def test_docs_page_loads_swagger_ui_from_the_gateway_itself(http, gateway):
    response = await http.get(f"{gateway.url}/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "/openapi.json" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets) and any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        assert asset.startswith("/docs/static/"), f"{asset} is not served locally"
        loaded = await http.get(f"{gateway.url}{asset}")
        assert loaded.status_code == 200 and loaded.content, asset


async def test_readiness_reports_each_service(http, gateway):
    assert (await http.get(f"{gateway.url}/healthz")).json() == {"status": "ok"}
    response = await http.get(f"{gateway.url}/readyz")
    assert response.status_code == 503  # the prevention service is down in these tests
    assert response.json()["checks"] == {"database": True, "policy": True, "claims": True, "prevention": False, "monitoring": True}
