"""Running vidwatch beyond one machine, on Ray: archive pieces as tasks, cameras as actors.

Ray is an optional extra (``pip install 'vidwatch[ray]'``): nothing outside this package and the
``serve`` runner that uses it imports Ray, and only when ``--ray`` is given.
"""
