//! Gaussian mixture models: the ELBO task fitted by stochastic variational
//! inference, and EM.
