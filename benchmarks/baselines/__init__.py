"""Outside-style baselines: what a GeoPandas/Shapely 2 engineer who knows the fast way would
write to answer mineledger's questions straight from the store's GeoPackage, without
mineledger's code (each module imports only GeoPandas, Shapely, pyogrio, pyproj, numpy and
pandas).

- :mod:`.common`: reading a layer, connected clusters, grouped unions, clipping pieces to
  administrative areas, the equal-area measure;
- :mod:`.ledger`: the land release ledger by admin2 and by year;
- :mod:`.by_admin`: distinct hazardous land per level-3 area;
- :mod:`.summary`: the headline figures of ``mineledger summary``.

The method is the one the audit of issue 16 describes: clip each layer to the administrative
areas it intersects (STRtree), then union only the pieces that overlap another piece of the
same area, cluster by cluster; nothing is ever unioned across the whole country.
"""
