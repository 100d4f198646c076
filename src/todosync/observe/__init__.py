"""What the outside sees of the runs: live events (`events`, in process or through PostgreSQL's
LISTEN/NOTIFY), Prometheus metrics (`metrics`), the alert webhook (`alerts`), and
`observers.Observers`, the `sync.observer.RunObserver` that feeds them from the engine."""
