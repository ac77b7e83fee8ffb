"""Roles and what each may do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.permissions import GRANTS, Perm, Role, allows, may_see_client

CLIENT_PERMS = [
    Perm.CLIENTS_VIEW,
    Perm.CLIENTS_EDIT,
    Perm.CLIENTS_ASSIGN,
    Perm.ONBOARDING_TICK,
    Perm.TAX_ID_UNMASKED,
    Perm.CLIENTS_SEE_ALL_RESTRICTED,
]
roles = st.sampled_from(Role)
user_ids = st.integers(min_value=1, max_value=10**6)
coordinator_ids = st.one_of(st.none(), user_ids)


def test_every_role_has_grants() -> None:
    assert set(GRANTS) == set(Role)


@pytest.mark.parametrize("role", [None, *Role])
def test_public_is_allowed_for_everyone_including_anonymous(role: Role | None) -> None:
    assert allows(role, Perm.PUBLIC)


@pytest.mark.parametrize("perm", [p for p in Perm if p is not Perm.PUBLIC])
def test_anonymous_holds_nothing_but_public(perm: Perm) -> None:
    assert not allows(None, perm)


@pytest.mark.parametrize("role", list(Role))
def test_authenticated_is_allowed_for_every_role(role: Role) -> None:
    assert allows(role, Perm.AUTHENTICATED)


def test_authenticated_is_not_allowed_for_anonymous() -> None:
    assert not allows(None, Perm.AUTHENTICATED)


@pytest.mark.parametrize("perm", CLIENT_PERMS + [Perm.AUDIT_VIEW])
def test_admin_holds_no_client_permission(perm: Perm) -> None:
    assert not allows(Role.ADMIN, perm)


def test_admin_manages_users() -> None:
    assert allows(Role.ADMIN, Perm.USERS_MANAGE)
    # Users, the credit policy and the backups page; no client data, no reviews.
    assert GRANTS[Role.ADMIN] == {Perm.USERS_MANAGE, Perm.POLICY_VIEW, Perm.POLICY_EDIT,
                                  Perm.BACKUPS_VIEW}


@pytest.mark.parametrize("role", [Role.CLERK, Role.COORDINATOR, Role.MANAGER])
def test_only_admin_manages_users(role: Role) -> None:
    assert not allows(role, Perm.USERS_MANAGE)
    assert not allows(role, Perm.BACKUPS_VIEW)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            Role.CLERK,
            {
                Perm.CLIENTS_VIEW,
                Perm.CLIENTS_EDIT,
                Perm.ONBOARDING_TICK,
                Perm.DOCUMENTS_VIEW,
                Perm.DOCUMENTS_FILE,
                Perm.REVIEWS_VIEW,
                Perm.REVIEWS_CONTACT,
                Perm.POLICY_VIEW,
                Perm.ACCOUNTS_VIEW,
            },
        ),
        (
            Role.COORDINATOR,
            {
                Perm.CLIENTS_VIEW,
                Perm.CLIENTS_EDIT,
                Perm.ONBOARDING_TICK,
                Perm.DOCUMENTS_VIEW,
                Perm.DOCUMENTS_FILE,
                Perm.TAX_ID_UNMASKED,
                Perm.CLIENTS_ASSIGN,
                Perm.REVIEWS_VIEW,
                Perm.REVIEWS_CONTACT,
                Perm.REVIEWS_PREPARE,
                Perm.REVIEWS_DECIDE,
                Perm.POLICY_VIEW,
                Perm.ACCOUNTS_VIEW,
                Perm.LEDGER_RECORD,
                Perm.REPORTS_VIEW,
            },
        ),
        (
            Role.MANAGER,
            {
                Perm.CLIENTS_VIEW,
                Perm.CLIENTS_EDIT,
                Perm.ONBOARDING_TICK,
                Perm.TAX_ID_UNMASKED,
                Perm.CLIENTS_ASSIGN,
                Perm.DOCUMENTS_VIEW,
                Perm.DOCUMENTS_FILE,
                Perm.CLIENTS_SEE_ALL_RESTRICTED,
                Perm.AUDIT_VIEW,
                Perm.DOCUMENTS_TRASH,
                Perm.REVIEWS_VIEW,
                Perm.REVIEWS_CONTACT,
                Perm.REVIEWS_PREPARE,
                Perm.REVIEWS_DECIDE,
                Perm.POLICY_VIEW,
                Perm.ACCOUNTS_VIEW,
                Perm.LEDGER_RECORD,
                Perm.REPORTS_VIEW,
                Perm.WRITE_OFF_APPROVE,
            },
        ),
    ],
)
def test_grants_per_role(role: Role, expected: set[Perm]) -> None:
    assert GRANTS[role] == expected
    for perm in Perm:
        if perm not in (Perm.PUBLIC, Perm.AUTHENTICATED):
            assert allows(role, perm) is (perm in expected)


def test_roles_build_on_each_other() -> None:
    assert GRANTS[Role.CLERK] < GRANTS[Role.COORDINATOR] < GRANTS[Role.MANAGER]


def test_clerk_may_not_unmask_tax_ids() -> None:
    assert not allows(Role.CLERK, Perm.TAX_ID_UNMASKED)


@given(user_ids, coordinator_ids)
def test_clerk_cannot_see_restricted_clients(user_id: int, coordinator_id: int | None) -> None:
    assert not may_see_client(
        Role.CLERK, user_id, restricted=True, coordinator_id=coordinator_id
    )


@given(user_ids)
def test_clerk_cannot_see_restricted_client_even_when_named_coordinator(user_id: int) -> None:
    assert not may_see_client(Role.CLERK, user_id, restricted=True, coordinator_id=user_id)


@given(user_ids)
def test_coordinator_sees_restricted_client_when_assigned(user_id: int) -> None:
    assert may_see_client(Role.COORDINATOR, user_id, restricted=True, coordinator_id=user_id)


@given(user_ids, coordinator_ids)
def test_coordinator_does_not_see_restricted_client_of_someone_else(
    user_id: int, coordinator_id: int | None
) -> None:
    if coordinator_id == user_id:
        coordinator_id = None
    assert not may_see_client(
        Role.COORDINATOR, user_id, restricted=True, coordinator_id=coordinator_id
    )


@given(user_ids, coordinator_ids, st.booleans())
def test_manager_sees_every_client(
    user_id: int, coordinator_id: int | None, restricted: bool
) -> None:
    assert may_see_client(
        Role.MANAGER, user_id, restricted=restricted, coordinator_id=coordinator_id
    )


@given(user_ids, coordinator_ids, st.booleans())
def test_admin_sees_no_client(user_id: int, coordinator_id: int | None, restricted: bool) -> None:
    assert not may_see_client(
        Role.ADMIN, user_id, restricted=restricted, coordinator_id=coordinator_id
    )


@given(st.sampled_from([Role.CLERK, Role.COORDINATOR, Role.MANAGER]), user_ids, coordinator_ids)
def test_unrestricted_clients_are_seen_by_every_client_role(
    role: Role, user_id: int, coordinator_id: int | None
) -> None:
    assert may_see_client(role, user_id, restricted=False, coordinator_id=coordinator_id)


@given(roles, user_ids, coordinator_ids, st.booleans())
def test_seeing_a_client_requires_clients_view(
    role: Role, user_id: int, coordinator_id: int | None, restricted: bool
) -> None:
    if may_see_client(role, user_id, restricted=restricted, coordinator_id=coordinator_id):
        assert allows(role, Perm.CLIENTS_VIEW)
