/**
 * The Runs view (activity bar → Heat Capacity → Runs): a tree data provider over the pure view model
 * (viewModel.ts), rebuilt whenever the store or the run overrides change, and the reveal helpers the
 * panel uses ("show me this run").
 */
import * as vscode from 'vscode';
import type { AnalysisService } from '../compute/analysisService';
import type { Ctx } from '../ctx';
import { RUNS_VIEW_ID } from '../ids';
import { sameLr } from '../state/analysisStore';
import { buildRunsTree, findRunNode, runNodes, type TreeNodeVM } from './viewModel';

const COLLAPSIBLE: Record<TreeNodeVM['collapsible'], vscode.TreeItemCollapsibleState> = {
  none: vscode.TreeItemCollapsibleState.None,
  collapsed: vscode.TreeItemCollapsibleState.Collapsed,
  expanded: vscode.TreeItemCollapsibleState.Expanded,
};

class RunsTreeProvider implements vscode.TreeDataProvider<TreeNodeVM> {
  private roots: TreeNodeVM[] = [];
  private readonly parents = new Map<string, TreeNodeVM | undefined>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly ctx: Ctx) {}

  rebuild(): void {
    this.roots = buildRunsTree(this.ctx.store.roots(), this.ctx.overrides);
    this.parents.clear();
    const walk = (nodes: TreeNodeVM[], parent: TreeNodeVM | undefined): void => {
      for (const n of nodes) {
        this.parents.set(n.id, parent);
        walk(n.children, n);
      }
    };
    walk(this.roots, undefined);
    this.changed.fire();
  }

  get nodes(): readonly TreeNodeVM[] {
    return this.roots;
  }

  getTreeItem(n: TreeNodeVM): vscode.TreeItem {
    const item = new vscode.TreeItem(n.label, COLLAPSIBLE[n.collapsible]);
    item.id = n.id;
    item.description = n.description;
    // Plain text, not Markdown: names and messages are untrusted and shown exactly as they are.
    item.tooltip = n.tooltip;
    item.iconPath = new vscode.ThemeIcon(n.icon.id, n.icon.color ? new vscode.ThemeColor(n.icon.color) : undefined);
    item.contextValue = n.contextValue;
    item.accessibilityInformation = { label: `${n.label}, ${n.description}` };
    if (n.result && (n.kind === 'sweep' || n.kind === 'run')) {
      item.command = { command: 'heatcap.openPanel', title: 'Open Analysis Panel', arguments: [n] };
    }
    return item;
  }

  getChildren(n?: TreeNodeVM): TreeNodeVM[] {
    return n ? n.children : this.roots;
  }

  getParent(n: TreeNodeVM): TreeNodeVM | undefined {
    return this.parents.get(n.id);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export class RunsView implements vscode.Disposable {
  private readonly provider: RunsTreeProvider;
  private readonly view: vscode.TreeView<TreeNodeVM>;
  private readonly disposables: vscode.Disposable[] = [];
  private discovered = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly jobs: AnalysisService,
  ) {
    this.provider = new RunsTreeProvider(ctx);
    this.view = vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: this.provider, showCollapseAll: true });
    this.disposables.push(
      this.provider,
      this.view,
      ctx.store.onDidChange((c) => {
        if (c === 'roots' || c === 'listing' || c === 'results') this.provider.rebuild();
        // A workspace folder added while the view is in use is listed like the others.
        if (c === 'roots' && this.discovered) void this.jobs.discover(this.unlisted());
      }),
      ctx.onDidChangeOverrides(() => this.provider.rebuild()),
      // Discovery starts when the view is first shown, not at activation: nothing runs for a view nobody opened.
      this.view.onDidChangeVisibility((e) => {
        if (e.visible) this.discoverOnce();
      }),
    );
    this.provider.rebuild();
    if (this.view.visible) this.discoverOnce();
  }

  private discoverOnce(): void {
    if (this.discovered) return;
    this.discovered = true;
    void this.jobs.discover(this.unlisted());
  }

  /** Workspace folders not listed yet (and not failed: a failure is shown until Refresh). */
  private unlisted(): string[] {
    return this.ctx.store
      .roots()
      .filter((e) => e.isWorkspaceFolder && !e.listing && !e.listingError && !e.results)
      .map((e) => e.root);
  }

  async revealRun(root: string, runId: string): Promise<void> {
    const node = findRunNode(this.provider.nodes, root, runId);
    if (!node) {
      void vscode.window.showInformationMessage('Heat Capacity: that run is not in the runs view (refresh it?)');
      return;
    }
    await this.view.reveal(node, { select: true, focus: true, expand: true });
  }

  /** Selects the run of `root` trained at η = `lr` (a point clicked in the panel), if there is one. */
  async revealLr(root: string, lr: number): Promise<void> {
    const node = runNodes(this.provider.nodes).find((n) => n.run?.root === root && n.run.lr !== null && sameLr(n.run.lr, lr));
    if (node) await this.view.reveal(node, { select: true, focus: false, expand: true });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
