import pytest

from pipeline.warehouse import connect
from tests.sql.scenario import Scenario


@pytest.fixture
def con(settings):
    connection = connect(settings)
    yield connection
    connection.close()


@pytest.fixture
def scenario(con, settings):
    return Scenario(con, settings)
