from portal.domain.permissions import Role


def test_clients_page_renders_for_coordinator(as_role, db):
    from tests.conftest import make_client

    make_client(db, "Kovács Eszter")
    client = as_role(Role.COORDINATOR)
    response = client.get("/clients/")
    assert response.status_code == 200
    assert "Kovács Eszter" in response.get_data(as_text=True)
