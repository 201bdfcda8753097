"""The migration plan on plain data: every deprecated key, spec.loadBalancerIP,
same-value and conflicting duplicates, the re-check by MetalLB's rules,
idempotence, in-place edits, and backup/restore patches."""

import copy

import pytest
from builders import cluster, dual, pool, svc

from kubectl_lbip.model.migrate import (
    ADDRESS_MOVES,
    DROP,
    MOVE,
    apply_in_place,
    backup_document,
    backup_entry,
    parse_backup,
    plan_all,
    plan_service,
    recheck,
    restore_changes,
    restore_patch,
    service_objects,
)
from kubectl_lbip.model.patches import apply_merge_patch, patched_object
from kubectl_lbip.model.rules import NOT_IN_POOL, WARNING
from kubectl_lbip.model.services import Service

OLD = "metallb.universe.tf/"
NEW = "metallb.io/"
POOL = pool("prod", "192.168.10.0/24", "fd00:10::/64")


def service(**kw) -> Service:
    return Service.from_object(svc("shop", "web", **kw))


def after_patch(obj: dict, plan) -> Service:
    return Service.from_object(apply_merge_patch(obj, plan.patch()))


@pytest.mark.parametrize(
    "key,value",
    [
        ("loadBalancerIPs", "192.168.10.7"),
        ("address-pool", "prod"),
        ("allow-shared-ip", "web"),
        ("ip-allocated-from-pool", "prod"),
    ],
)
def test_every_deprecated_key_moves_to_its_twin_with_the_same_value(key, value):
    plan = plan_service(service(annotations={OLD + key: value, "other/key": "x"}, rv="42"))
    assert [(c.source, c.target, c.value, c.action) for c in plan.changes] == [(OLD + key, NEW + key, value, MOVE)]
    patch = plan.patch()
    assert patch == {"metadata": {"resourceVersion": "42", "annotations": {NEW + key: value, OLD + key: None}}}


def test_all_four_keys_in_one_patch():
    old = {
        OLD + "loadBalancerIPs": "192.168.10.7",
        OLD + "address-pool": "prod",
        OLD + "allow-shared-ip": "k",
        OLD + "ip-allocated-from-pool": "prod",
    }
    obj = svc("shop", "web", annotations=old)
    migrated = after_patch(obj, plan_service(Service.from_object(obj)))
    assert migrated.annotations == {NEW + k[len(OLD) :]: v for k, v in old.items()}


def test_spec_load_balancer_ip_becomes_annotation_and_is_cleared_in_same_patch():
    obj = svc("legacy", "dns", lb_ip="192.168.10.53", rv="7")
    plan = plan_service(Service.from_object(obj))
    assert [(c.source, c.target, c.action) for c in plan.changes] == [
        ("spec.loadBalancerIP", NEW + "loadBalancerIPs", MOVE)
    ]
    patch = plan.patch()
    assert patch["spec"] == {"loadBalancerIP": None}
    assert patch["metadata"]["resourceVersion"] == "7"
    migrated = Service.from_object(apply_merge_patch(obj, patch))
    assert migrated.load_balancer_ip == ""
    assert migrated.annotations == {NEW + "loadBalancerIPs": "192.168.10.53"}


def test_spec_ip_of_a_service_that_is_not_a_load_balancer_is_left_alone():
    assert not plan_service(service(lb_ip="192.168.10.53", type="ClusterIP")).touched


def test_same_value_duplicate_drops_the_old_key_only():
    plan = plan_service(service(annotations={OLD + "address-pool": "prod", NEW + "address-pool": "prod"}))
    assert [(c.source, c.action) for c in plan.changes] == [(OLD + "address-pool", DROP)]
    assert plan.patch()["metadata"]["annotations"] == {OLD + "address-pool": None}


def test_same_address_set_written_differently_is_not_a_conflict():
    plan = plan_service(
        Service.from_object(
            dual(
                "shop",
                "web",
                annotations={
                    OLD + "loadBalancerIPs": " fd00:10:0::7, 192.168.10.7",
                    NEW + "loadBalancerIPs": "192.168.10.7,fd00:10::7",
                },
            )
        )
    )
    assert not plan.conflicts
    assert plan.patch()["metadata"]["annotations"] == {OLD + "loadBalancerIPs": None}


def test_conflicting_duplicates_are_listed_with_both_values_and_not_changed():
    plan = plan_service(
        service(
            annotations={
                OLD + "loadBalancerIPs": "192.168.10.7",
                NEW + "loadBalancerIPs": "192.168.10.8",
                OLD + "allow-shared-ip": "web",
            }
        )
    )
    assert plan.patch() is None and not plan.needs_patch
    [conflict] = plan.conflicts
    assert conflict.to_dict() == {
        "namespace": "shop",
        "name": "web",
        "values": {NEW + "loadBalancerIPs": "192.168.10.8", OLD + "loadBalancerIPs": "192.168.10.7"},
    }


def test_annotation_and_spec_ip_that_disagree_are_a_conflict():
    plan = plan_service(service(annotations={OLD + "loadBalancerIPs": "192.168.10.7"}, lb_ip="192.168.10.9"))
    assert plan.patch() is None
    assert dict(plan.conflicts[0].values) == {
        OLD + "loadBalancerIPs": "192.168.10.7",
        "spec.loadBalancerIP": "192.168.10.9",
    }


def test_annotation_and_spec_ip_that_agree_keep_the_annotation_and_clear_the_field():
    plan = plan_service(service(annotations={NEW + "loadBalancerIPs": "192.168.10.7"}, lb_ip="192.168.10.7"))
    assert [(c.source, c.action) for c in plan.changes] == [("spec.loadBalancerIP", DROP)]
    assert plan.patch()["spec"] == {"loadBalancerIP": None}
    assert plan.patch()["metadata"]["annotations"] == {}


def test_deprecated_annotation_and_equal_spec_ip_both_go_to_the_new_key():
    obj = svc("shop", "web", annotations={OLD + "loadBalancerIPs": "192.168.10.7"}, lb_ip="192.168.10.7")
    migrated = after_patch(obj, plan_service(Service.from_object(obj)))
    assert migrated.annotations == {NEW + "loadBalancerIPs": "192.168.10.7"}
    assert migrated.load_balancer_ip == ""


def test_migrating_twice_changes_nothing_the_second_time():
    obj = svc(
        "shop",
        "web",
        lb_ip="192.168.10.7",
        annotations={OLD + "allow-shared-ip": "k", OLD + "address-pool": "prod", NEW + "address-pool": "prod"},
    )
    once = apply_merge_patch(obj, plan_service(Service.from_object(obj)).patch())
    second = plan_service(Service.from_object(once))
    assert not second.touched and second.patch() is None


def test_plan_all_keeps_only_touched_services_sorted_and_rechecks():
    c = cluster(
        POOL,
        svc("b", "x", lb_ip="192.168.10.5"),
        svc("a", "y", annotations={"k": "v"}),
        svc("a", "z", annotations={OLD + "loadBalancerIPs": "10.0.0.1"}),
    )
    plans = plan_all(c, c.services)
    assert [p.service.key for p in plans] == ["a/z", "b/x"]
    assert [w.code for w in plans[0].warnings] == [NOT_IN_POOL]
    assert plans[1].warnings == []


def test_recheck_warns_with_the_rule_where_metallb_would_not_keep_the_request():
    c = cluster(POOL)
    plan = plan_service(service(annotations={OLD + "loadBalancerIPs": "10.1.2.3"}))
    [warning] = recheck(c, plan)
    assert warning.severity == WARNING and warning.code == NOT_IN_POOL
    assert "10.1.2.3" in warning.message and "after migration" in warning.message


def test_recheck_checks_the_migrated_request_against_the_pool_annotation():
    c = cluster(POOL, pool("other", "10.20.0.0/24"))
    plan = plan_service(service(annotations={OLD + "loadBalancerIPs": "192.168.10.7", OLD + "address-pool": "other"}))
    assert [w.code for w in recheck(c, plan)] == ["pool-annotation-mismatch"]


def test_recheck_warns_when_the_held_address_is_not_the_request():
    plan = plan_service(service(lb_ip="192.168.10.7", ingress=["192.168.10.9"]))
    assert [w.code for w in recheck(cluster(POOL), plan)] == [ADDRESS_MOVES]


def test_recheck_silent_when_migration_keeps_the_address():
    plan = plan_service(service(lb_ip="192.168.10.7", ingress=["192.168.10.7"]))
    assert recheck(cluster(POOL), plan) == []


def test_apply_in_place_matches_the_patch_and_keeps_key_order():
    obj = svc(
        "shop", "web", lb_ip="192.168.10.7", annotations={"a/first": "1", OLD + "allow-shared-ip": "k", "z/last": "2"}
    )
    plan = plan_service(Service.from_object(obj))
    edited = copy.deepcopy(obj)
    apply_in_place(edited, plan)
    assert list(edited["metadata"]["annotations"]) == [
        "a/first",
        NEW + "allow-shared-ip",
        "z/last",
        NEW + "loadBalancerIPs",
    ]
    assert edited == patched_object(obj, plan.patch())


def test_apply_in_place_creates_annotations_when_absent():
    obj = svc("shop", "web", lb_ip="192.168.10.7")
    apply_in_place(obj, plan_service(Service.from_object(obj)))
    assert obj["metadata"]["annotations"] == {NEW + "loadBalancerIPs": "192.168.10.7"}


def test_service_objects_inside_lists():
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [svc("a", "x"), {"kind": "ConfigMap"}, {"kind": "ServiceList", "items": [svc("a", "y")]}],
    }
    assert [o["metadata"]["name"] for o in service_objects(doc)] == ["x", "y"]


# --- backup and restore
MIGRATED_FROM = {
    OLD + "loadBalancerIPs": "192.168.10.7",
    OLD + "allow-shared-ip": "k",
    NEW + "address-pool": "prod",
    "other/key": "x",
}


def test_backup_keeps_both_prefixes_spec_ip_and_resource_version():
    entry = backup_entry(service(annotations=MIGRATED_FROM, lb_ip="192.168.10.7", rv="55"))
    assert entry == {
        "kind": "Service",
        "namespace": "shop",
        "name": "web",
        "resourceVersion": "55",
        "annotations": {
            NEW + "address-pool": "prod",
            OLD + "allow-shared-ip": "k",
            OLD + "loadBalancerIPs": "192.168.10.7",
        },
        "loadBalancerIP": "192.168.10.7",
    }
    assert parse_backup(backup_document([service()])).entries[0]["name"] == "web"


@pytest.mark.parametrize(
    "annotations, lb_ip",
    [
        ({OLD + "loadBalancerIPs": ""}, ""),  # empty: no request, for MetalLB too
        ({NEW + "loadBalancerIPs": " 192.168.10.7 , fd00:10::7 "}, ""),  # a pair, spaces trimmed
        ({OLD + "address-pool": "p" * 253, OLD + "allow-shared-ip": "k" * 253}, "::ffff:192.168.10.7"),
    ],
)
def test_a_backup_of_valid_requests_and_names_is_accepted(annotations, lb_ip):
    doc = backup_document([service(annotations=annotations, lb_ip=lb_ip)])
    assert parse_backup(doc).entries[0]["annotations"] == annotations


def test_restore_undoes_a_migration_on_the_current_resource_version():
    original = svc("shop", "web", annotations=MIGRATED_FROM, lb_ip="192.168.10.7", rv="10")
    entry = backup_entry(Service.from_object(original))
    migrated = apply_merge_patch(original, plan_service(Service.from_object(original)).patch())
    migrated["metadata"]["resourceVersion"] = "11"
    current = Service.from_object(migrated)
    patch = restore_patch(current, restore_changes(entry, current))
    assert patch["metadata"]["resourceVersion"] == "11"
    assert patch["metadata"]["annotations"] == {
        OLD + "loadBalancerIPs": "192.168.10.7",
        OLD + "allow-shared-ip": "k",
        NEW + "allow-shared-ip": None,
        NEW + "loadBalancerIPs": None,
    }
    assert patch["spec"] == {"loadBalancerIP": "192.168.10.7"}
    restored = Service.from_object(apply_merge_patch(migrated, patch))
    assert restored.annotations == MIGRATED_FROM
    assert restored.load_balancer_ip == "192.168.10.7"
    assert restore_changes(entry, restored) == []  # restoring twice changes nothing


def test_restore_keeps_metallb_io_keys_that_were_in_the_backup():
    entry = backup_entry(service(annotations={NEW + "address-pool": "prod"}))
    current = service(annotations={NEW + "address-pool": "other", NEW + "loadBalancerIPs": "192.168.10.7"})
    changes = restore_changes(entry, current)
    assert [(c.place, c.restored) for c in changes] == [(NEW + "address-pool", "prod")]


@pytest.mark.parametrize(
    "data", [{}, {"kind": "other"}, {"kind": "kubectl-lbip-migrate-backup", "version": 1, "services": [{"name": "x"}]}]
)
def test_parse_backup_refuses_what_is_not_a_backup(data):
    with pytest.raises(ValueError):
        parse_backup(data)
