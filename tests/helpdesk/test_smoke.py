from helpdesk.models import Status


def test_ticket_create_routes_and_records_events(customer, agent, make_ticket):
    # given a customer and a tier-1 team skilled in billing
    # when they open a ticket
    ticket = make_ticket(customer, subject="Charged twice")
    # then it has a human reference, belongs to the frontline team and has a public "created" event
    assert ticket.reference.startswith("HD-")
    assert ticket.team.slug == "frontline"
    assert ticket.status == Status.NEW
    assert list(ticket.events.values_list("kind", flat=True)) == ["created"]
