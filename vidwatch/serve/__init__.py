"""``vidwatch serve``: many cameras from one site config, watched from a web page, reported over MQTT.

Optional part of vidwatch (``pip install 'vidwatch[serve]'``): the web server, the MQTT client and
the metrics library are imported only by the modules that need them, and nothing in the core
imports this package. Each camera runs the same pipeline as ``vidwatch run`` on its own runner; web
and MQTT code read what the cameras produce from bounded queues and latest-value slots, never from
the per-frame path.
"""
