"""The shuffle at cluster scale: the engine's random-bucket method run as Dask tasks (chapter 8, §9.4).

``shuffle_file_dask(inputs, output, memory="1G", seed=0, scheduler="tcp://host:8786")`` and
``python -m lib.shuffle ... --engine dask [--scheduler ADDRESS]``. :mod:`.client` plans, runs
the stages and renames; the workers run :mod:`.mapper` (pass 1) and :mod:`.reducer` (pass 2)
with the settings of :mod:`.job`; :mod:`.runners` talks to Dask; :mod:`.cost` sizes a run;
:mod:`.layout` has the names and the map files; :mod:`.command` the command-line glue. Dask is
imported only when a run starts.
"""
from .client import DaskShuffleReport, shuffle_file_dask
from .cost import ClusterCost, cluster_cost, plan_partitions
from .layout import remove_leftovers

__all__ = ["ClusterCost", "DaskShuffleReport", "cluster_cost", "plan_partitions", "remove_leftovers",
           "shuffle_file_dask"]
