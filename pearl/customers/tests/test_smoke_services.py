from pearl.customers.selectors import customer_list
from pearl.customers.tests.factories import make_customer


def test_owner_sees_own_customer_and_outsider_does_not(org):
    customer = make_customer(org.owner, short_name="鑫海酒楼")
    assert list(customer_list(actor=org.owner, filters={"q": "鑫海"})) == [customer]
    assert list(customer_list(actor=org.outsider, filters={"q": "鑫海"})) == []
