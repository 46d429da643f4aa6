# N services of one crate (hydroflow 0.5.0's idle), in Hydro
# Deploy's API, run by Hydro Deploy 0.5 (`hydro deploy n_crates.hydro.py --
# N CRATE`) and by hydro (`hydro run n_crates.hydro.py -- N CRATE`): deploy,
# start, print "started", stop each service, return.
import hydro


async def main(args):
    n = int(args[0])
    crate = args[1]
    deployment = hydro.Deployment()
    localhost = deployment.Localhost()
    services = [deployment.HydroflowCrate(src=crate, example="idle", on=localhost)
                for _ in range(n)]
    await deployment.deploy()
    await deployment.start()
    print("started", flush=True)
    for s in services:
        await s.stop()
    print("stopped", flush=True)
