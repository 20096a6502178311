// Readiness probe for scripts/network.sh: can every peer act as a Gateway for its organisation's
// clients, i.e. does service discovery on that peer already know enough peers (and their
// chaincode) to satisfy the endorsement policy? Gossip needs a few seconds after the channel is
// joined to learn the other organisations; until then the Gateway answers FAILED_PRECONDITION
// ("no combination of peers can be derived which satisfy the endorsement policy").
//
// It endorses (and never submits) a GetHistory query of a key nobody writes through each
// identity's peer. The Gateway runs it on its own peer first, then plans the endorsement from
// discovery and collects the other endorsements; success means the plan could be made.
// Usage: node scripts/network-probe.mjs <connection.json>   (exit 0 when every peer is ready)
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import grpc from '@grpc/grpc-js';
import fabricGateway from '@hyperledger/fabric-gateway';

const { connect, signers } = fabricGateway;

const PROBE_KEY = 'run/network-readiness-probe';

async function probe(profile, identityName) {
  const id = profile.identities[identityName];
  const peer = profile.peers[id.peer];
  const client = new grpc.Client(
    peer.endpoint,
    grpc.credentials.createSsl(readFileSync(peer.tlsRootCertPath)),
    { 'grpc.ssl_target_name_override': peer.hostAlias },
  );
  const gateway = connect({
    client,
    identity: { mspId: id.mspId, credentials: readFileSync(id.certPath) },
    signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(id.keyPath))),
    endorseOptions: () => ({ deadline: Date.now() + 5000 }),
  });
  try {
    const contract = gateway.getNetwork(profile.channel).getContract(profile.chaincode);
    await contract.newProposal('GetHistory', { arguments: [PROBE_KEY] }).endorse();
    return undefined;
  } catch (err) {
    const details = (err.details || []).map((d) => `${d.address}: ${d.message}`).join('; ');
    return `${id.peer}: ${err.message}${details ? ` (${details})` : ''}`;
  } finally {
    gateway.close();
    client.close();
  }
}

async function main() {
  const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const names = Object.keys(profile.identities).filter(
    (name, i, all) =>
      all.findIndex((n) => profile.identities[n].peer === profile.identities[name].peer) === i,
  );
  const problems = (await Promise.all(names.map((name) => probe(profile, name)))).filter(Boolean);
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exit(1);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
