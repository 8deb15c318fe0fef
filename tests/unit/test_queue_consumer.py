"""Settling a message on a broken connection ends the worker quietly (the broker redelivers the
message); any other failure still raises (``crm_kit.runtime.queue_consumer``)."""
from __future__ import annotations

import pytest
from amqp.exceptions import ConnectionError as AmqpConnectionError

from crm_kit.runtime.queue_consumer import CrmQueueConsumer


class _Channel:
    connection = object()      # nameko settles only while the message's connection is there


class _Message:
    def __init__(self, error):
        self.error, self.channel, self.delivery_tag = error, _Channel(), 7

    def ack(self):
        if self.error:
            raise self.error

    requeue = ack


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"),
                                   BrokenPipeError(32, "Broken pipe"), AmqpConnectionError("closed"),
                                   OSError(9, "Bad file descriptor"), None])
@pytest.mark.parametrize("settle", ["ack_message", "requeue_message"])
def test_a_broken_connection_while_settling_is_logged_not_raised(settle, error, caplog):
    getattr(CrmQueueConsumer(), settle)(_Message(error))
    assert ("connection to the broker broke" in caplog.text) == (error is not None and
                                                                 not isinstance(error, AmqpConnectionError))


def test_another_failure_while_settling_raises():
    with pytest.raises(ValueError):
        CrmQueueConsumer().ack_message(_Message(ValueError("a bug")))
