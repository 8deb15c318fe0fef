"""Bare nameko HTTP -> RPC baseline: the floor the platform is compared against.

Two minimal nameko services, each run in its own process like the platform:

    python -m bench.baseline http   # @http("POST", "/leads") -> RpcProxy("bench_leads")
    python -m bench.baseline rpc    # @rpc create_lead(data) -> data + id (no database)
    python -m bench.baseline sales_http   # POST /orders, /orders/<id>/submit, /approve -> RpcProxy("bench_sales")
    python -m bench.baseline sales_rpc    # @rpc create_order / submit_order / approve_order (in memory)

Configuration from the environment: ``AMQP_URI``, ``BENCH_BASELINE_PORT`` (http),
``MAX_WORKERS`` (default 10, the platform's default). No logging, no metrics,
no database: only nameko, eventlet, werkzeug, kombu and JSON.
"""
from __future__ import annotations

import os
import signal
import sys


def _services():
    import json
    import uuid

    from nameko.rpc import RpcProxy, rpc
    from nameko.web.handlers import http
    from werkzeug.wrappers import Response

    class BaselineLeads:
        name = "bench_leads"

        @rpc
        def create_lead(self, data):
            return dict(data, id=str(uuid.uuid4()))

    class BaselineGateway:
        name = "bench_gateway"
        leads = RpcProxy("bench_leads")

        @http("POST", "/leads")
        def create(self, request):
            data = json.loads(request.get_data())
            result = self.leads.create_lead(data)
            return Response(json.dumps(result), status=201, mimetype="application/json")

        @http("GET", "/healthz")
        def healthz(self, request):
            return Response('{"status": "ok"}', status=200, mimetype="application/json")

    class BaselineSales:
        """The order flow's floor: three RPCs that keep the order in memory (no database)."""
        name = "bench_sales"
        orders: dict = {}

        @rpc
        def create_order(self, data):
            order = dict(data, id=str(uuid.uuid4()), status="draft")
            self.orders[order["id"]] = order
            return order

        @rpc
        def submit_order(self, order_id, data):
            order = self.orders[order_id]
            order.update(data, status="pending_approval")
            return order

        @rpc
        def approve_order(self, order_id, data):
            order = self.orders.pop(order_id)
            order.update(data, status="approved")
            return order

    class BaselineSalesGateway:
        name = "bench_sales_gateway"
        sales = RpcProxy("bench_sales")

        @http("POST", "/orders")
        def create(self, request):
            result = self.sales.create_order(json.loads(request.get_data()))
            return Response(json.dumps(result), status=201, mimetype="application/json")

        @http("POST", "/orders/<order_id>/submit")
        def submit(self, request, order_id):
            result = self.sales.submit_order(order_id, json.loads(request.get_data() or b"{}"))
            return Response(json.dumps(result), status=200, mimetype="application/json")

        @http("POST", "/orders/<order_id>/approve")
        def approve(self, request, order_id):
            result = self.sales.approve_order(order_id, json.loads(request.get_data() or b"{}"))
            return Response(json.dumps(result), status=200, mimetype="application/json")

        @http("GET", "/healthz")
        def healthz(self, request):
            return Response('{"status": "ok"}', status=200, mimetype="application/json")

    return {"http": BaselineGateway, "rpc": BaselineLeads, "sales_http": BaselineSalesGateway,
            "sales_rpc": BaselineSales}


def main(which: str) -> None:
    import eventlet
    eventlet.monkey_patch()
    from nameko.runners import ServiceRunner

    cls = _services()[which]
    config = {
        "AMQP_URI": os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        "max_workers": int(os.environ.get("MAX_WORKERS", "10")),
        "serializer": "json",
        "HEARTBEAT": 30,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{os.environ.get('BENCH_BASELINE_PORT', '8099')}",
    }
    runner = ServiceRunner(config)
    runner.add_service(cls)

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    runner.start()
    waiter = eventlet.spawn(runner.wait)
    while True:
        try:
            waiter.wait()
            break
        except KeyboardInterrupt:
            runner.stop()
            break
        except OSError:  # EINTR while waiting
            continue


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("http", "rpc", "sales_http", "sales_rpc"):
        sys.exit("usage: python -m bench.baseline http|rpc|sales_http|sales_rpc")
    main(sys.argv[1])
